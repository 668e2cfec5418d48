"""Change notices on a real PostgreSQL: a committed batch wakes the watchers of the
executions it names, and only them; a rolled-back one wakes no one; a feed whose
session ends listens again and wakes everyone (a notice may have been missed)."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterable
from uuid import UUID

import psycopg
import pytest
import pytest_asyncio

from execflow_platform import ChangeFeed, Watch, changes_channel, notify_changed
from execflow_platform.changes import MAX_IDS

from ..conftest import Names, terminate_session

pytestmark = pytest.mark.asyncio(loop_scope="function")

NEVER_S = 3600.0  # a fallback that never comes in a test: only notices wake watchers
WOKEN_WITHIN_S = 10.0
QUIET_S = 0.3


@pytest_asyncio.fixture(loop_scope="function")
async def feed(database_url: str, names: Names) -> AsyncIterator[ChangeFeed]:
    feed = ChangeFeed(database_url, changes_channel(names.schema), fallback_s=NEVER_S)
    await feed.start()
    yield feed
    await feed.close()


async def commit_batch(
    database_url: str,
    schema: str,
    execution_ids: Iterable[UUID],
    commit: bool = True,
    max_queue_usage: float = 0.5,
) -> None:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await notify_changed(conn, changes_channel(schema), execution_ids, max_queue_usage)
        await (conn.commit() if commit else conn.rollback())


async def woken(watch: Watch, within_s: float) -> bool:
    try:
        await asyncio.wait_for(watch.next_change(), within_s)
    except TimeoutError:
        return False
    return True


async def test_a_committed_batch_wakes_the_watchers_of_its_executions_only(
    database_url: str, names: Names, feed: ChangeFeed
) -> None:
    changed, untouched = uuid.uuid4(), uuid.uuid4()
    with (
        feed.watch(changed) as first,
        feed.watch(changed) as second,
        feed.watch(untouched) as other,
    ):
        await commit_batch(database_url, names.schema, [changed, uuid.uuid4()])
        assert await woken(first, WOKEN_WITHIN_S)
        assert await woken(second, WOKEN_WITHIN_S)
        assert not await woken(other, QUIET_S)
        # Each wake is used once: the next wait is for the next change.
        assert not await woken(first, QUIET_S)


async def test_a_change_committed_before_the_wait_is_not_missed(
    database_url: str, names: Names, feed: ChangeFeed
) -> None:
    execution_id = uuid.uuid4()
    with feed.watch(execution_id) as watch:
        # As a stream does: watching, then reading; the change lands while it reads.
        await commit_batch(database_url, names.schema, [execution_id])
        await asyncio.sleep(QUIET_S)
        assert await woken(watch, 0.01)


async def test_a_rolled_back_batch_wakes_no_one(
    database_url: str, names: Names, feed: ChangeFeed
) -> None:
    execution_id = uuid.uuid4()
    with feed.watch(execution_id) as watch:
        await commit_batch(database_url, names.schema, [execution_id], commit=False)
        assert not await woken(watch, QUIET_S)


async def test_no_notice_is_sent_while_the_servers_queue_is_past_the_limit(
    database_url: str, names: Names, feed: ChangeFeed
) -> None:
    # A limit of 0 stands for a queue filled by a stuck listener: the batch still
    # commits, and its watchers wait for their fallback.
    execution_id = uuid.uuid4()
    with feed.watch(execution_id) as watch:
        await commit_batch(database_url, names.schema, [execution_id], max_queue_usage=0)
        assert not await woken(watch, QUIET_S)


async def test_other_schemas_changes_wake_no_one(
    database_url: str, names: Names, feed: ChangeFeed
) -> None:
    execution_id = uuid.uuid4()
    with feed.watch(execution_id) as watch:
        await commit_batch(database_url, f"{names.schema}_other", [execution_id])
        assert not await woken(watch, QUIET_S)


async def test_a_batch_of_more_executions_than_one_notice_holds_names_them_all(
    database_url: str, names: Names, feed: ChangeFeed
) -> None:
    changed = [uuid.uuid4() for _ in range(2 * MAX_IDS + 1)]
    with contextlib.ExitStack() as stack:
        watches = [stack.enter_context(feed.watch(x)) for x in changed]
        other = stack.enter_context(feed.watch(uuid.uuid4()))
        await commit_batch(database_url, names.schema, changed)
        assert all(await asyncio.gather(*(woken(w, WOKEN_WITHIN_S) for w in watches)))
        assert not await woken(other, QUIET_S)


async def test_a_feed_whose_session_ends_listens_again_and_wakes_everyone(
    database_url: str, names: Names, feed: ChangeFeed
) -> None:
    execution_id = uuid.uuid4()
    assert feed.listening
    with feed.watch(execution_id) as watch:
        ended = listener_pid(database_url, names.schema)
        terminate_session(database_url, ended)
        # Notices sent while it was away are lost: everyone reads again.
        assert await woken(watch, WOKEN_WITHIN_S)
        for _ in range(200):
            if set(listener_pids(database_url, names.schema)) - {ended}:
                break
            await asyncio.sleep(0.05)
        await commit_batch(database_url, names.schema, [execution_id])
        assert await woken(watch, WOKEN_WITHIN_S)


async def test_without_notices_a_watch_wakes_after_its_fallback(
    database_url: str, names: Names
) -> None:
    # No PostgreSQL to listen to: streams still move, at the fallback's pace.
    feed = ChangeFeed("host=/nonexistent dbname=none", "unheard", fallback_s=0.05)
    await feed.start(ready_timeout_s=0.1)
    try:
        assert not feed.listening
        with feed.watch(uuid.uuid4()) as watch:
            assert await woken(watch, WOKEN_WITHIN_S)
    finally:
        await feed.close()


def listener_pids(database_url: str, schema: str) -> list[int]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE query = %s",
            (f'LISTEN "{changes_channel(schema)}"',),
        ).fetchall()
    return [pid for (pid,) in rows]


def listener_pid(database_url: str, schema: str) -> int:
    (pid,) = listener_pids(database_url, schema)
    return pid
