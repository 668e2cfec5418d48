"""The bus going away, on a real nats-server of the test's own: a publish waits with a
deadline and frees what it held, and work is checked against the events before it runs
a second time."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from nats.aio.client import Client

from execflow_contracts import StepSucceeded, StepWork, Topology
from execflow_devstack import NatsServer
from execflow_platform import Outgoing, attempt_over, connect, ensure_streams, publish_all

pytestmark = pytest.mark.asyncio(loop_scope="function")


@pytest_asyncio.fixture(loop_scope="function")
async def server(tmp_path: Path) -> AsyncIterator[NatsServer]:
    nats = NatsServer(tmp_path / "nats").start()
    yield nats
    nats.stop()


async def test_a_publish_while_the_bus_is_down_gives_up_at_its_deadline_and_works_after(
    server: NatsServer,
) -> None:
    topology = Topology(f"t{uuid.uuid4().hex[:8]}")
    nc: Client = await connect(server.url, "test-faults")
    try:
        js = nc.jetstream()
        await ensure_streams(js, topology)
        server.kill()
        message = Outgoing(topology.dead_letter("x"), b"hello", "once")
        started = asyncio.get_running_loop().time()
        with pytest.raises(TimeoutError):
            await publish_all(js, [message], deadline_s=1.0)
        assert asyncio.get_running_loop().time() - started < 3
        server.start()
        for _ in range(100):  # the client reconnects by itself
            if nc.is_connected:
                break
            await asyncio.sleep(0.1)
        await publish_all(js, [message], deadline_s=10.0)
        stored = await js.stream_info(topology.dlq_stream)
        assert stored.state.messages == 1  # sent twice, stored once
    finally:
        await nc.close()


async def test_work_whose_attempt_has_ended_is_known_by_the_events(server: NatsServer) -> None:
    topology = Topology(f"t{uuid.uuid4().hex[:8]}")
    nc = await connect(server.url, "test-settled")
    try:
        js = nc.jetstream()
        await ensure_streams(js, topology)
        execution_id = uuid.uuid4()
        now = datetime.now(UTC)
        succeeded = StepSucceeded(
            execution_id=execution_id, version=5, at=now, step_id="b", attempt=2, finished_at=now
        )
        subject = topology.event(execution_id, "StepSucceeded")
        await js.publish(subject, succeeded.model_dump_json().encode())

        def work(step_id: str, attempt: int) -> StepWork:
            return StepWork.model_validate(
                {
                    "execution_id": str(execution_id),
                    "step_id": step_id,
                    "attempt": attempt,
                    "queue": "default",
                    "run": {"command": ["true"]},
                    "dispatched_at": now.isoformat(),
                }
            )

        assert await attempt_over(js, topology, work("b", 2)) == "StepSucceeded"
        assert await attempt_over(js, topology, work("b", 3)) is None  # a later attempt
        assert await attempt_over(js, topology, work("a", 2)) is None  # another step
    finally:
        await nc.close()
