"""Reads of the log lines read model, in the order the projector stored them.

A line's `id` orders an execution's lines totally and is the cursor: the logs
projection inserts under its position lock, one transaction at a time, so ids are
committed in increasing order and "after id N" never misses a line committed later.
"""

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from .queries import exists


async def page(
    conn: AsyncConnection,
    execution_id: UUID,
    namespace: str,
    step: str | None,
    after: int,
    limit: int,
) -> list[dict[str, Any]]:
    await exists(conn, execution_id, namespace)
    return await lines_after(conn, execution_id, step, after, limit)


async def lines_after(
    conn: AsyncConnection, execution_id: UUID, step: str | None, after: int, limit: int
) -> list[dict[str, Any]]:
    step_clause = "AND step_id = %s" if step else ""
    params: list[Any] = [execution_id, after, *([step] if step else []), limit]
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT id, step_id, attempt, delivery, seq, stream, at, line FROM log_lines"
            f" WHERE execution_id = %s AND id > %s {step_clause} ORDER BY id LIMIT %s",
            params,
        )
        return await cur.fetchall()
