"""Reads of the projector's read models. Every query is keyed and indexed."""

import base64
import json
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from execflow_contracts import ExecutionNotFound

EXECUTION_COLUMNS = (
    "id, status, message, workflow, input, metadata, output, error, n_steps,"
    " created_at, queued_at, started_at, completed_at, updated_at, retry_of, retried_by,"
    " parent_id, parent_step, progress, stopped_steps, workflow_id, workflow_version, priority"
)
STEP_COLUMNS = (
    "step_id AS id, status, needs, queue, attempts, worker, exit_code, error, message,"
    " started_at, finished_at, output, next_attempt_at, prompt, input_schema AS schema,"
    " child_id, progress"
)


async def get_execution(conn: AsyncConnection, execution_id: UUID) -> dict[str, Any]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE id = %s", (execution_id,)
        )
        row = await cur.fetchone()
        if row is None:
            raise ExecutionNotFound(execution_id)
        await cur.execute(
            f"SELECT {STEP_COLUMNS} FROM steps WHERE execution_id = %s ORDER BY position",
            (execution_id,),
        )
        row["steps"] = await cur.fetchall()
        await cur.execute(
            "SELECT step_id, attempt, delivery, status, worker, exit_code, error, error_kind,"
            " started_at, finished_at FROM attempts WHERE execution_id = %s"
            " ORDER BY started_at NULLS LAST, step_id, attempt, delivery",
            (execution_id,),
        )
        row["attempts"] = await cur.fetchall()
        await cur.execute(
            "SELECT id FROM executions WHERE parent_id = %s ORDER BY created_at", (execution_id,)
        )
        row["children"] = [child["id"] for child in await cur.fetchall()]
    return row


async def list_executions(
    conn: AsyncConnection, statuses: list[str], limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first; the cursor is the (created_at, id) of the last row of the page."""
    where: list[str] = []
    params: list[Any] = []
    if statuses:
        where.append("status = ANY(%s)")
        params.append(statuses)
    if cursor:
        created_at, last_id = decode_cursor(cursor)
        where.append("(created_at, id) < (%s, %s)")
        params += [created_at, last_id]
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {EXECUTION_COLUMNS} FROM executions {clause}"
            " ORDER BY created_at DESC, id DESC LIMIT %s",
            [*params, limit + 1],
        )
        rows = await cur.fetchall()
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]["created_at"], rows[-1]["id"])


async def exists(conn: AsyncConnection, execution_id: UUID) -> None:
    cur = await conn.execute("SELECT 1 FROM executions WHERE id = %s", (execution_id,))
    if await cur.fetchone() is None:
        raise ExecutionNotFound(execution_id)


async def transitions(conn: AsyncConnection, execution_id: UUID) -> list[dict[str, Any]]:
    await exists(conn, execution_id)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            'SELECT version, type, from_status AS "from", to_status AS "to", reason, actor, at'
            " FROM transitions WHERE execution_id = %s ORDER BY version",
            (execution_id,),
        )
        return await cur.fetchall()


async def log_lines(
    conn: AsyncConnection, execution_id: UUID, step: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    await exists(conn, execution_id)
    step_clause = "AND step_id = %s" if step else ""
    params: list[Any] = [execution_id, *([step] if step else []), limit, offset]
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT step_id, attempt, seq, stream, at, line FROM log_lines"
            f" WHERE execution_id = %s {step_clause}"
            " ORDER BY at, step_id, attempt, seq LIMIT %s OFFSET %s",
            params,
        )
        return await cur.fetchall()


def encode_cursor(created_at: datetime, execution_id: UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(execution_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """Raises ValueError for a cursor this API did not hand out."""
    try:
        created_at, execution_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(created_at), UUID(execution_id)
    except Exception as exc:
        raise ValueError(f"invalid cursor: {cursor!r}") from exc
