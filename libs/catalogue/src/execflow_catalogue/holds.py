"""Legal holds: executions kept past their time to live until released (the API holds
and releases them; the scheduler's timers leave a held execution's TTL undue)."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row


async def hold(
    conn: AsyncConnection, ids: Sequence[UUID], namespace: str, reason: str, by: str
) -> int:
    """Hold these executions (of `namespace`); how many were not held already."""
    cursor = await conn.execute(
        "INSERT INTO legal_holds (execution_id, namespace, reason, held_by)"
        " SELECT id, %s, %s, %s FROM unnest(%s::uuid[]) AS id ON CONFLICT DO NOTHING",
        (namespace, reason, by, list(ids)),
    )
    return cursor.rowcount


async def release(conn: AsyncConnection, execution_id: UUID, namespace: str) -> bool:
    cursor = await conn.execute(
        "DELETE FROM legal_holds WHERE execution_id = %s AND namespace = %s",
        (execution_id, namespace),
    )
    return cursor.rowcount > 0


async def held(conn: AsyncConnection, execution_id: UUID, namespace: str) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT execution_id, reason, held_by, held_at FROM legal_holds"
            " WHERE execution_id = %s AND namespace = %s",
            (execution_id, namespace),
        )
        return await cur.fetchone()
