"""Listing executions: every filter, sort and cursor, on a real PostgreSQL read model."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

import psycopg
import pytest

from execflow_api.listing import Filters, InvalidQuery, Order, Page, SortKey, list_executions

from .conftest import insert

pytestmark = pytest.mark.asyncio(loop_scope="function")

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


async def ids(
    conn: psycopg.AsyncConnection, filters: Filters, page: Page | None = None
) -> list[UUID]:
    rows, _ = await list_executions(conn, filters, page or Page())
    return [r["id"] for r in rows]


async def test_each_filter_selects_its_rows(conn: psycopg.AsyncConnection) -> None:
    a = await insert(
        conn,
        created_at=minutes(1),
        status="failed",
        workflow_id="build",
        queue="gpu",
        worker="w1",
        metadata={"team": "infra", "replicas": 3},
    )
    parent = a
    b = await insert(
        conn,
        created_at=minutes(2),
        started_at=minutes(2),
        completed_at=minutes(5),
        name="nightly deploy",
        parent_id=parent,
        schedule_id="every-night",
        metadata={"team": "web", "agent_id": "bot-7"},
    )
    c = await insert(conn, created_at=minutes(3), status="running", started_at=minutes(3))

    assert await ids(conn, Filters(statuses=["failed", "running"])) == [c, a]
    assert await ids(conn, Filters(workflow_id="build")) == [a]
    assert await ids(conn, Filters(queue="gpu")) == [a]
    assert await ids(conn, Filters(worker="w1")) == [a]
    assert await ids(conn, Filters(parent_id=parent)) == [b]
    assert await ids(conn, Filters(schedule_id="every-night")) == [b]
    assert await ids(conn, Filters(metadata={"team": "infra"})) == [a]
    assert await ids(conn, Filters(metadata={"replicas": "3"})) == [a]  # the number 3
    assert await ids(conn, Filters(metadata={"team": "web", "agent_id": "bot-7"})) == [b]
    assert await ids(conn, Filters(metadata={"team": "web", "agent_id": "bot-8"})) == []
    assert await ids(conn, Filters(created_after=minutes(2))) == [c, b]
    assert await ids(conn, Filters(created_before=minutes(2))) == [a]
    assert await ids(conn, Filters(finished_after=minutes(4))) == [b]
    assert await ids(conn, Filters(finished_before=minutes(6))) == [b]
    assert await ids(conn, Filters(q="DEPLOY")) == [b]
    assert await ids(conn, Filters(q=str(c)[:8])) == [c]
    assert await ids(conn, Filters(q=str(a))) == [a]
    assert await ids(conn, Filters(q="%")) == []  # a wildcard is a character like any other
    naive = minutes(2).replace(tzinfo=None)
    assert await ids(conn, Filters(created_after=naive)) == [c, b], "naive times are UTC"


async def test_sorts_put_unset_keys_last_ascending_and_first_descending(
    conn: psycopg.AsyncConnection,
) -> None:
    slow = await insert(
        conn, created_at=minutes(1), started_at=minutes(1), completed_at=minutes(11)
    )
    fast = await insert(conn, created_at=minutes(2), started_at=minutes(3), completed_at=minutes(4))
    running = await insert(conn, created_at=minutes(3), started_at=minutes(5), status="running")
    pending = await insert(conn, created_at=minutes(4), status="pending")

    def page(sort: SortKey, order: Order) -> Page:
        return Page(sort=sort, order=order)

    assert await ids(conn, Filters(), page(SortKey.CREATED, Order.ASC)) == [
        slow,
        fast,
        running,
        pending,
    ]
    assert await ids(conn, Filters(), page(SortKey.STARTED, Order.ASC)) == [
        slow,
        fast,
        running,
        pending,
    ]
    assert (await ids(conn, Filters(), page(SortKey.FINISHED, Order.ASC)))[:2] == [fast, slow]
    assert (await ids(conn, Filters(), page(SortKey.DURATION, Order.ASC)))[:2] == [fast, slow]
    descending = await ids(conn, Filters(), page(SortKey.DURATION, Order.DESC))
    assert set(descending[:2]) == {running, pending}
    assert descending[2:] == [slow, fast]


@pytest.mark.parametrize("sort", list(SortKey))
@pytest.mark.parametrize("order", list(Order))
async def test_cursor_pages_cover_every_row_once_while_rows_arrive(
    conn: psycopg.AsyncConnection, sort: SortKey, order: Order
) -> None:
    existing = set()
    for i in range(23):
        done = i % 3 != 0  # some rows without finish time or duration, to page across
        existing.add(
            await insert(
                conn,
                created_at=minutes(i % 7),  # ties, broken by id
                started_at=minutes(i % 5),
                completed_at=minutes(10 + i % 4) if done else None,
            )
        )
    seen: list[UUID] = []
    cursor = None
    while True:
        rows, cursor = await list_executions(
            conn, Filters(), Page(sort=sort, order=order, limit=4, cursor=cursor)
        )
        seen += [r["id"] for r in rows]
        await insert(conn, created_at=minutes(100 + len(seen)))  # arrives meanwhile
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "a row came twice"
    assert existing <= set(seen), "a row that was there all along was skipped"


async def test_cursors_of_another_sort_or_not_ours_are_refused(
    conn: psycopg.AsyncConnection,
) -> None:
    for i in range(3):
        await insert(conn, created_at=minutes(i))
    _, cursor = await list_executions(conn, Filters(), Page(limit=1))
    assert cursor is not None
    with pytest.raises(InvalidQuery, match="sort=created&order=desc"):
        await list_executions(conn, Filters(), Page(order=Order.ASC, cursor=cursor))
    with pytest.raises(InvalidQuery, match="invalid cursor"):
        await list_executions(conn, Filters(), Page(cursor="bm90IG91cnM="))
    with pytest.raises(InvalidQuery, match="need a key"):
        await list_executions(conn, Filters(metadata={"": "x"}), Page())
