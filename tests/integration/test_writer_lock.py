"""One scheduler writes a schema's event store at a time, on a real PostgreSQL: a second
stands by until the first lets go, and a holder whose connection ends is told so."""

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from execflow_contracts import CreateExecution
from execflow_scheduler.application import WriterFenced
from execflow_scheduler.schema import migrate
from execflow_scheduler.settings import SchedulerSettings
from execflow_scheduler.wiring import build_application
from execflow_scheduler.writer_lock import WriterLock, WriterLockLost

from ..conftest import Names, terminate_session, writer_lock_holders

pytestmark = pytest.mark.asyncio(loop_scope="function")


@pytest_asyncio.fixture(loop_scope="function")
async def locks(database_url: str, provisioned: Names) -> AsyncIterator[list[WriterLock]]:
    made: list[WriterLock] = []
    yield made
    for lock in made:
        await lock.release()


def new_lock(locks: list[WriterLock], database_url: str, schema: str) -> WriterLock:
    lock = WriterLock(
        database_url, schema, retry_every_s=0.05, check_every_s=0.05, check_timeout_s=0.5
    )
    locks.append(lock)
    return lock


async def holding(
    locks: list[WriterLock], database_url: str, schema: str, stop: asyncio.Event
) -> "asyncio.Task[None]":
    """A lock acquired, and the task that checks it is still held."""
    holder = new_lock(locks, database_url, schema)
    assert await holder.acquire(stop)
    return asyncio.create_task(holder.hold(stop))


async def test_a_second_scheduler_stands_by_until_the_first_lets_go(
    database_url: str, provisioned: Names, locks: list[WriterLock]
) -> None:
    stop = asyncio.Event()
    first = new_lock(locks, database_url, provisioned.schema)
    assert await first.acquire(stop)

    second = asyncio.create_task(new_lock(locks, database_url, provisioned.schema).acquire(stop))
    await asyncio.sleep(0.5)
    assert not second.done(), "two schedulers would write at once"

    await first.release()
    assert await asyncio.wait_for(second, 5) is True


async def test_schedulers_of_other_schemas_do_not_wait_for_each_other(
    database_url: str, provisioned: Names, locks: list[WriterLock]
) -> None:
    stop = asyncio.Event()
    assert await new_lock(locks, database_url, provisioned.schema).acquire(stop)
    other_schema = f"{provisioned.schema}_other"
    migrate(SchedulerSettings(database_url=database_url, db_schema=other_schema))
    other = new_lock(locks, database_url, other_schema)
    assert await asyncio.wait_for(other.acquire(stop), 5)


async def test_a_standing_by_scheduler_stops_when_asked(
    database_url: str, provisioned: Names, locks: list[WriterLock]
) -> None:
    stop = asyncio.Event()
    assert await new_lock(locks, database_url, provisioned.schema).acquire(stop)
    waiting = asyncio.create_task(new_lock(locks, database_url, provisioned.schema).acquire(stop))
    await asyncio.sleep(0.2)
    stop.set()
    assert await asyncio.wait_for(waiting, 5) is False


async def test_a_holder_whose_connection_ends_is_told_and_another_takes_over(
    database_url: str, provisioned: Names, locks: list[WriterLock]
) -> None:
    stop = asyncio.Event()
    checking = await holding(locks, database_url, provisioned.schema, stop)
    standby = asyncio.create_task(new_lock(locks, database_url, provisioned.schema).acquire(stop))

    # As a database restart or an operator would: the holder's session ends.
    (pid,) = writer_lock_holders(database_url, provisioned.schema)
    terminate_session(database_url, pid)
    with pytest.raises(WriterLockLost):
        await asyncio.wait_for(checking, 5)
    assert await asyncio.wait_for(standby, 5) is True


async def test_a_holder_stops_checking_when_asked(
    database_url: str, provisioned: Names, locks: list[WriterLock]
) -> None:
    stop = asyncio.Event()
    checking = await holding(locks, database_url, provisioned.schema, stop)
    await asyncio.sleep(0.2)
    assert not checking.done()
    stop.set()
    await asyncio.wait_for(checking, 5)  # returns, raising nothing


async def test_a_scheduler_that_cannot_reach_postgresql_keeps_trying_until_stopped(
    tmp_path: Path, locks: list[WriterLock]
) -> None:
    stop = asyncio.Event()
    unreachable = new_lock(locks, f"host={tmp_path} dbname=nowhere connect_timeout=1", "s")
    trying = asyncio.create_task(unreachable.acquire(stop))
    await asyncio.sleep(0.3)
    assert not trying.done(), "it gave up (or raised) instead of waiting for the database"
    stop.set()
    assert await asyncio.wait_for(trying, 5) is False


async def test_a_holder_whose_server_stops_answering_stops(
    database_url: str, provisioned: Names, locks: list[WriterLock]
) -> None:
    stop = asyncio.Event()
    holder = new_lock(locks, database_url, provisioned.schema)
    assert await holder.acquire(stop)
    (pid,) = writer_lock_holders(database_url, provisioned.schema)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        pytest.skip("the PostgreSQL server runs elsewhere: its session cannot be frozen")
    checking = asyncio.create_task(holder.hold(stop))
    os.kill(pid, signal.SIGSTOP)  # the session hangs, as behind a dead network link
    try:
        with pytest.raises(WriterLockLost):
            await asyncio.wait_for(checking, 5)
    finally:
        os.kill(pid, signal.SIGCONT)


async def test_a_silent_holder_is_taken_over_and_then_writes_nothing(
    database_url: str, provisioned: Names, locks: list[WriterLock]
) -> None:
    # A scheduler paused (SIGSTOP, a frozen VM) says nothing on its lock's session: the
    # server ends the session after the takeover time and a standby takes the lock;
    # when the paused one wakes, its inserts are refused by the epoch it wrote under.
    stop = asyncio.Event()
    paused = WriterLock(database_url, provisioned.schema, takeover_s=1.0, check_every_s=0.1)
    locks.append(paused)
    assert await paused.acquire(stop)  # and then never checks again: paused
    settings = SchedulerSettings(database_url=database_url, db_schema=provisioned.schema)
    app = build_application(settings)
    app.fence(paused.epoch)
    standby = new_lock(locks, database_url, provisioned.schema)
    try:
        assert await asyncio.wait_for(standby.acquire(stop), 10)
        assert standby.epoch == (paused.epoch or 0) + 1
        create = CreateExecution(
            execution_id=uuid.uuid4(),
            workflow={"steps": [{"id": "a", "run": {"command": ["true"]}}]},
            actor="t",
        )
        with pytest.raises(WriterFenced):
            await asyncio.to_thread(app.handle, [create])
        app.fence(standby.epoch)
        recordings, outcomes = await asyncio.to_thread(app.handle, [create])
        assert outcomes[0].accepted and recordings
    finally:
        app.close()
