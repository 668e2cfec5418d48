"""The worker registry on a real nats-server: register, list, expire, leave."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from execflow_contracts import RunningStep, Topology, WorkerInfo
from execflow_platform import (
    connect,
    deregister,
    ensure_registry,
    live_workers,
    open_registry,
    register,
)

pytestmark = pytest.mark.asyncio(loop_scope="function")


def info(worker_id: str) -> WorkerInfo:
    now = datetime.now(UTC)
    return WorkerInfo(
        id=worker_id,
        host="here",
        pid=1,
        queues=["default", "gpu"],
        backends=["docker", "process"],
        capacity=4,
        running=[
            RunningStep(
                execution_id=uuid.uuid4(), step_id="s", attempt=1, backend="docker", started_at=now
            )
        ],
        started_at=now,
        last_heartbeat=now,
    )


async def test_registered_workers_are_listed_until_they_leave_or_fall_silent(
    nats_url: str,
) -> None:
    topology = Topology(f"t{uuid.uuid4().hex[:12]}")
    nc = await connect(nats_url, "test")
    js = nc.jetstream()
    try:
        assert await open_registry(js, topology) is None
        kv = await ensure_registry(js, topology, ttl_s=2)
        assert await live_workers(js, topology) == []

        a, b = info("runner-a"), info("runner-b.example")
        await register(kv, b)
        await register(kv, a)
        assert await live_workers(js, topology) == [a, b]
        assert (await live_workers(js, topology))[0].n_running == 1

        await deregister(kv, a.id)
        assert await live_workers(js, topology) == [b]

        await asyncio.sleep(3)  # b stopped heartbeating: its key expires with the TTL
        assert await live_workers(js, topology) == []
    finally:
        await nc.close()


async def test_the_registry_takes_the_ttl_of_the_latest_runner(nats_url: str) -> None:
    topology = Topology(f"t{uuid.uuid4().hex[:12]}")
    nc = await connect(nats_url, "test")
    js = nc.jetstream()
    try:
        await ensure_registry(js, topology, ttl_s=30)
        kv = await ensure_registry(js, topology, ttl_s=5)
        assert (await kv.status()).ttl == 5
        opened = await open_registry(js, topology)
        assert opened is not None
    finally:
        await nc.close()


async def test_a_heartbeating_runner_is_never_missing_from_the_list(nats_url: str) -> None:
    """Listed while its key is being rewritten: a miss would show it gone on /workers and
    let another runner's reaper remove its containers."""
    topology = Topology(f"t{uuid.uuid4().hex[:12]}")
    nc = await connect(nats_url, "test")
    js = nc.jetstream()
    kv = await ensure_registry(js, topology, ttl_s=30)
    beating, quiet = info("runner-a"), info("runner-b")
    await register(kv, beating)
    await register(kv, quiet)
    stop = asyncio.Event()

    async def heartbeat() -> None:
        while not stop.is_set():
            await register(kv, beating)
            await asyncio.sleep(0.005)

    task = asyncio.create_task(heartbeat())
    try:
        for _ in range(300):
            listed = [w.id for w in await live_workers(js, topology)]
            assert listed == ["runner-a", "runner-b"]
    finally:
        stop.set()
        await task
        await nc.close()
