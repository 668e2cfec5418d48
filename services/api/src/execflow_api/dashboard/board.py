"""The board: executions as cards in columns by status, and the cards that change.

A card is an execution's summary with what a board shows beyond it: progress and its
steps counted by status. Columns are groups of statuses; each shows its newest cards and
how many it holds (counted up to a cap: a count of a million rows is not worth its scan).
"""

from collections.abc import AsyncIterator, Sequence
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from execflow_contracts import ExecutionStatus as S

from .. import presenters, sse
from ..listing import LIST_COLUMNS, Filters, Page, conditions, list_executions
from ..state import Services

COLUMNS: dict[str, tuple[S, ...]] = {
    "queued": (S.PENDING, S.QUEUED, S.BACKOFF),
    "running": (S.STARTING, S.RUNNING, S.CANCELLING),
    "awaiting_input": (S.AWAITING_INPUT,),
    "completed": (S.COMPLETED,),
    "failed": (S.FAILED,),
    "stopped": (S.CANCELLED, S.TIMED_OUT),
}
COUNT_CAP = 10_000

CARD_EXTRAS = """
SELECT e.id, e.version, e.progress,
    (SELECT jsonb_object_agg(status, n) FROM
        (SELECT status, count(*) AS n FROM steps s WHERE s.execution_id = e.id
         GROUP BY status) AS counted) AS step_counts
FROM executions e WHERE e.id = ANY(%s)
"""


async def board(conn: AsyncConnection, filters: Filters, limit: int) -> dict[str, Any]:
    columns: dict[str, dict[str, Any]] = {}
    for name, statuses in COLUMNS.items():
        chosen = column_filters(filters, statuses)
        rows, more = await list_executions(conn, chosen, Page(limit=limit))
        total = await count(conn, chosen) if more else len(rows)
        columns[name] = {
            "statuses": list(statuses),
            "count": total,
            "capped": total >= COUNT_CAP,
            "items": rows,
        }
    await add_extras(conn, [row for c in columns.values() for row in c["items"]])
    for column in columns.values():
        column["items"] = [card(row) for row in column["items"]]
    return {"columns": columns}


def column_filters(filters: Filters, statuses: Sequence[S]) -> Filters:
    """The board's filters within one column (a status filter narrows every column)."""
    wanted = [s.value for s in statuses]
    if filters.statuses:
        wanted = [s for s in wanted if s in filters.statuses] or ["-"]
    return Filters(**{**filters.__dict__, "statuses": wanted})


async def count(conn: AsyncConnection, filters: Filters) -> int:
    where, params = conditions(filters)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    cursor = await conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM executions {clause} LIMIT %s) AS capped",
        [*params, COUNT_CAP],
    )
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def add_extras(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(CARD_EXTRAS, ([r["id"] for r in rows],))
        extras = {r["id"]: r for r in await cur.fetchall()}
    for row in rows:
        extra = extras.get(row["id"], {})
        row["version"] = extra.get("version")
        row["progress"] = extra.get("progress")
        row["step_counts"] = extra.get("step_counts") or {}


# What a card does not show, and may be large (an output can be 256 KiB): the execution's
# page reads it.
NOT_ON_CARDS = ("input", "output", "error", "links")


def card(row: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in presenters.summary(row).items() if k not in NOT_ON_CARDS}
    body["column"] = column_of(row["status"])
    return body


def column_of(status: str) -> str:
    return next(name for name, statuses in COLUMNS.items() if status in statuses)


async def cards(
    conn: AsyncConnection, filters: Filters, ids: Sequence[UUID]
) -> list[dict[str, Any]]:
    """The cards of these executions that the filters let through."""
    where, params = conditions(filters)
    where.append("id = ANY(%s)")
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {LIST_COLUMNS} FROM executions WHERE {' AND '.join(where)}",
            [*params, list(ids)],
        )
        rows = await cur.fetchall()
    await add_extras(conn, rows)
    return [card(row) for row in rows]


async def changes(svc: Services, filters: Filters) -> AsyncIterator[bytes]:
    """A `card` event for each execution that changes (as it is now), as the projector's
    notices name them; `resync` when notices were lost (read the board again)."""
    with svc.changes.watch_all() as watch:
        yield sse.event("ready", {})
        while True:
            ids = await watch.next_changes()
            if ids is None:
                yield sse.event("resync", {})
                continue
            if not ids:
                yield b""
                continue
            async with svc.pool.connection() as conn:
                found = await cards(conn, filters, [UUID(i) for i in ids])
            for item in found:
                yield sse.event("card", item)
