"""Reads of the event log read model: an execution's events in version order."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row


async def events_after(
    conn: AsyncConnection, execution_id: UUID, after: int = 0, limit: int | None = None
) -> list[dict[str, Any]]:
    """Events with a version above `after`: the history, or what a live stream missed."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT version, type, at, body FROM event_log"
            " WHERE execution_id = %s AND version > %s ORDER BY version LIMIT %s",
            (execution_id, after, limit),
        )
        return await cur.fetchall()


@dataclass(frozen=True)
class StoredEvent:
    """An event as a live stream sends it: its body as stored, never parsed."""

    version: int
    type: str
    body_json: str
    to_status: str | None
    traceparent: str | None  # what the event was stored with (tracing on)


async def stored_events_after(
    conn: AsyncConnection, execution_id: UUID, after: int
) -> list[StoredEvent]:
    """As `events_after`, with each body as the JSON text the database holds: a stream
    passes it on as it is (parsing and encoding it again was a third of a stream's CPU
    in a profile)."""
    cur = await conn.execute(
        "SELECT version, type, body::text, body->>'to_status', body->>'traceparent'"
        " FROM event_log"
        " WHERE execution_id = %s AND version > %s ORDER BY version",
        (execution_id, after),
    )
    return [StoredEvent(*row) for row in await cur.fetchall()]


async def events_of(conn: AsyncConnection, execution_ids: list[UUID]) -> list[dict[str, Any]]:
    """The events of several executions: execution by execution, in the order given."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT execution_id, version, type, at, body FROM event_log"
            " WHERE execution_id = ANY(%(ids)s)"
            " ORDER BY array_position(%(ids)s, execution_id), version",
            {"ids": execution_ids},
        )
        return await cur.fetchall()
