"""The schedules table: written by the API, fired by the scheduler."""

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from execflow_contracts import ScheduleNotFound, ScheduleRequest
from execflow_workflows import Rhythm

COLUMNS = (
    "id, namespace, workflow_id, version, cron, every_s, timezone, input, metadata, priority,"
    " catchup, paused, next_fire_at, last_fired_at, fires, last_error, created_at"
)


def rhythm_of(row: dict[str, Any]) -> Rhythm:
    return Rhythm(row["cron"], row["every_s"], row["timezone"], row["created_at"])


async def create(
    conn: AsyncConnection,
    namespace: str,
    schedule_id: UUID,
    request: ScheduleRequest,
    now: datetime,
) -> dict[str, Any]:
    rhythm = Rhythm(request.cron, request.every, request.timezone, now)
    rhythm.check()
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "INSERT INTO schedules (id, namespace, workflow_id, version, cron, every_s,"
            " timezone, input, metadata, priority, catchup, next_fire_at, created_at)"
            f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {COLUMNS}",
            (
                schedule_id,
                namespace,
                request.workflow_id,
                request.version,
                request.cron,
                request.every,
                request.timezone,
                Jsonb(request.input),
                Jsonb(request.metadata),
                request.priority,
                request.catchup,
                rhythm.next_after(now),
                now,
            ),
        )
        row = await cur.fetchone()
    assert row is not None
    return row


async def get(conn: AsyncConnection, namespace: str, schedule_id: UUID) -> dict[str, Any]:
    """ScheduleNotFound for another namespace's, as for none."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {COLUMNS} FROM schedules WHERE id = %s AND namespace = %s",
            (schedule_id, namespace),
        )
        row = await cur.fetchone()
    if row is None:
        raise ScheduleNotFound(f"schedule {schedule_id} not found")
    return row


async def list_all(
    conn: AsyncConnection, namespace: str, workflow_id: str | None
) -> list[dict[str, Any]]:
    clause = " AND workflow_id = %s" if workflow_id else ""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {COLUMNS} FROM schedules WHERE namespace = %s{clause} ORDER BY created_at",
            [namespace, workflow_id] if workflow_id else [namespace],
        )
        return await cur.fetchall()


async def set_paused(
    conn: AsyncConnection, namespace: str, schedule_id: UUID, paused: bool, now: datetime
) -> dict[str, Any]:
    """Pause, or resume from the next fire after now (a paused time fires nothing)."""
    row = await get(conn, namespace, schedule_id)
    next_fire_at = row["next_fire_at"] if paused else rhythm_of(row).next_after(now)
    await conn.execute(
        "UPDATE schedules SET paused = %s, next_fire_at = %s WHERE id = %s",
        (paused, next_fire_at, schedule_id),
    )
    return await get(conn, namespace, schedule_id)


async def delete(conn: AsyncConnection, namespace: str, schedule_id: UUID) -> None:
    cursor = await conn.execute(
        "DELETE FROM schedules WHERE id = %s AND namespace = %s", (schedule_id, namespace)
    )
    if cursor.rowcount == 0:
        raise ScheduleNotFound(f"schedule {schedule_id} not found")


async def due(conn: AsyncConnection, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
    """Due schedules, locked until the caller's transaction ends (other schedulers skip them)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {COLUMNS} FROM schedules WHERE NOT paused AND next_fire_at <= %s"
            " ORDER BY next_fire_at LIMIT %s FOR UPDATE SKIP LOCKED",
            (now, limit),
        )
        return await cur.fetchall()


async def advance(
    conn: AsyncConnection,
    schedule_id: UUID,
    next_fire_at: datetime,
    fired: list[datetime],
    error: str | None,
) -> None:
    await conn.execute(
        "UPDATE schedules SET next_fire_at = %s, fires = fires + %s,"
        " last_fired_at = coalesce(%s, last_fired_at), last_error = %s WHERE id = %s",
        (next_fire_at, len(fired), max(fired, default=None), error, schedule_id),
    )
