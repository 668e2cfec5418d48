"""The outbox relay, with faults put exactly where a crash could strike: between the
save and the publish, and between the publish and the saving of the relay's position.
Each time, a relay starting afresh (as a restarted scheduler's does) gets every stored
event onto EVENTS exactly once, and sends no work for an attempt that has moved on."""

from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.js.errors import NotFoundError
from psycopg_pool import ConnectionPool

from execflow_contracts import (
    MSG_ID_HEADER,
    CreateExecution,
    ReportStepFinished,
    StepDispatched,
    StepWork,
    Topology,
)
from execflow_platform import StreamKeeper, connect, schema_conninfo
from execflow_scheduler.dispatch import Dispatcher
from execflow_scheduler.liveness import live_dispatches
from execflow_scheduler.publishing import to_contract
from execflow_scheduler.refill import Refill
from execflow_scheduler.relay import Relay
from execflow_scheduler.settings import SchedulerSettings
from execflow_scheduler.timers import TimerLoop, TimerStore
from execflow_scheduler.wiring import build_application

from ..conftest import Names

pytestmark = pytest.mark.asyncio(loop_scope="function")

TWO_STEPS = {
    "steps": [
        {"id": "a", "run": {"command": ["true"]}},
        {"id": "b", "run": {"command": ["true"]}, "needs": ["a"]},
    ]
}


@pytest_asyncio.fixture(loop_scope="function")
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await connect(nats_url, "test-outbox")
    yield client
    await client.close()


class Scheduler:
    """The parts of a scheduler the outbox involves, made afresh as a restart makes them."""

    def __init__(self, nc: Client, database_url: str, names: Names) -> None:
        self.topology = Topology(names.prefix)
        settings = SchedulerSettings(database_url=database_url, db_schema=names.schema)
        self.app = build_application(settings)
        self._conninfo = schema_conninfo(database_url, names.schema)
        self._nc = nc
        self.pool = ConnectionPool(self._conninfo, kwargs={"autocommit": True}, open=True)

    async def relay(self, save_every_s: float = 1.0) -> Relay:
        js = self._nc.jetstream()
        keeper = StreamKeeper(js, self.topology)
        await keeper.check()
        dispatcher = Dispatcher(self._conninfo, js, self.topology)
        await dispatcher.start()
        timers = TimerLoop(TimerStore(self.pool), js, self.topology)
        refill = Refill(self.app, js, self.topology, dispatcher, orphan_grace_s=0)
        return Relay(
            self.app,
            js,
            self.topology,
            self.pool,
            timers,
            dispatcher,
            1 << 20,
            keeper,
            refill,
            save_every_s=save_every_s,
        )

    def close(self) -> None:
        self.pool.close()
        self.app.close()


async def stream_ids(nc: Client, subject: str, stream: str) -> list[str]:
    """The message ids the stream holds, in order (read by sequence: WORK is a queue)."""
    js = nc.jetstream()
    ids: list[str] = []
    sequence = 1
    while True:
        try:
            found = await js.get_msg(stream, sequence, subject=subject, next=True)
        except NotFoundError:
            return ids
        ids.append((found.headers or {})[MSG_ID_HEADER])
        sequence = (found.seq or sequence) + 1


def dispatched_work(execution_id: UUID, step_id: str) -> str:
    return StepWork.model_validate(
        {
            "execution_id": str(execution_id),
            "step_id": step_id,
            "attempt": 1,
            "queue": "default",
            "run": {"command": ["true"]},
            "dispatched_at": "2026-01-01T00:00:00Z",
        }
    ).dedupe_id


def finish(execution_id: UUID, step_id: str) -> ReportStepFinished:
    return ReportStepFinished(
        execution_id=execution_id,
        step_id=step_id,
        attempt=1,
        worker="w",
        started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:00:01Z",
        exit_code=0,
    )


async def test_events_saved_but_never_published_are_published_by_the_next_relay(
    nc: Client, database_url: str, provisioned: Names
) -> None:
    execution_id = uuid4()
    first = Scheduler(nc, database_url, provisioned)
    try:
        # Saved; the scheduler dies before its relay publishes anything.
        recordings, _ = first.app.handle(
            [CreateExecution(execution_id=execution_id, workflow=TWO_STEPS)]
        )
        stored = [f"{execution_id}:{r.domain_event.originator_version}" for r in recordings]
    finally:
        first.close()

    second = Scheduler(nc, database_url, provisioned)
    try:
        relay = await second.relay()
        await relay.start()
        await relay.close()
        topology = second.topology
        assert await stream_ids(nc, topology.all_events, topology.events_stream) == stored
        work = await stream_ids(nc, topology.all_work, topology.work_stream)
        assert work == [dispatched_work(execution_id, "a")]
    finally:
        second.close()


async def test_events_published_but_not_recorded_as_such_are_not_published_twice(
    nc: Client, database_url: str, provisioned: Names
) -> None:
    execution_id = uuid4()
    first = Scheduler(nc, database_url, provisioned)
    try:
        # Published, but the position is saved only now and then: the scheduler dies
        # before it saved this one.
        relay = await first.relay(save_every_s=3600)
        await relay.start()
        recordings, _ = first.app.handle(
            [CreateExecution(execution_id=execution_id, workflow=TWO_STEPS)]
        )
        await relay.publish(recordings)
        # Step a then ran and succeeded: its work must never be sent again.
        recordings, _ = first.app.handle([finish(execution_id, "a")])
        await relay.publish(recordings)
    finally:
        first.close()  # no relay.close(): nothing more is saved

    second = Scheduler(nc, database_url, provisioned)
    try:
        relay = await second.relay()
        await relay.start()  # publishes again from its old position
        await relay.close()
        topology = second.topology
        events = await stream_ids(nc, topology.all_events, topology.events_stream)
        assert len(events) == len(set(events))
        assert events == [f"{execution_id}:{v}" for v in range(1, len(events) + 1)]
        # The first relay sent a's work then b's; the second sent nothing again.
        work = await stream_ids(nc, topology.all_work, topology.work_stream)
        assert work == [dispatched_work(execution_id, "a"), dispatched_work(execution_id, "b")]
    finally:
        second.close()


async def test_work_is_sent_again_only_for_attempts_that_still_wait(
    nc: Client, database_url: str, provisioned: Names
) -> None:
    # Beyond the bus's dedupe window, what the relay publishes again from the store must
    # not carry work for attempts that have run: it asks the aggregates.
    execution_id = uuid4()
    scheduler = Scheduler(nc, database_url, provisioned)
    try:
        created, _ = scheduler.app.handle(
            [CreateExecution(execution_id=execution_id, workflow=TWO_STEPS)]
        )
        finished, _ = scheduler.app.handle([finish(execution_id, "a")])
        stored = [to_contract(r.domain_event) for r in [*created, *finished]]
        dispatched = [e for e in stored if isinstance(e, StepDispatched)]
        assert [e.step_id for e in dispatched] == ["a", "b"]
        live = live_dispatches(scheduler.app, stored)
        assert live == {dispatched[1].dedupe_id}  # b waits; a has run
    finally:
        scheduler.close()
