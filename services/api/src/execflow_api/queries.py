"""Reads of the projector's read models. Every query is keyed and indexed."""

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from execflow_contracts import ExecutionNotFound, ExecutionStatus

EXECUTION_COLUMNS = (
    "id, version, status, message, workflow, input, metadata, output, error, n_steps,"
    " created_at, queued_at, started_at, completed_at, updated_at,"
    " workflow_id, name, queue, worker, parent_id, schedule_id,"
    " retry_of, retried_by, parent_step, progress, stopped_steps,"
    " workflow_version, priority, n_agent_actions, n_screenshots, checkpoints, artifacts,"
    " split_part(traceparent, '-', 2) AS trace_id"
)
STEP_COLUMNS = (
    "step_id AS id, status, needs, queue, attempts, worker, exit_code, error, message,"
    " started_at, finished_at, output, next_attempt_at, prompt, input_schema AS schema,"
    " child_id, progress"
)


# Every read by id is of the caller's namespace: another namespace's execution is not
# found (a 404, as for an id that names nothing), so guessing ids tells nothing.
async def get_execution(
    conn: AsyncConnection, execution_id: UUID, namespace: str
) -> dict[str, Any]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE id = %s AND namespace = %s",
            (execution_id, namespace),
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


async def artifacts(
    conn: AsyncConnection, execution_id: UUID, namespace: str
) -> list[dict[str, Any]]:
    cursor = await conn.execute(
        "SELECT artifacts FROM executions WHERE id = %s AND namespace = %s",
        (execution_id, namespace),
    )
    row = await cursor.fetchone()
    if row is None:
        raise ExecutionNotFound(execution_id)
    found: list[dict[str, Any]] = row[0]
    return found


async def exists(conn: AsyncConnection, execution_id: UUID, namespace: str) -> None:
    cur = await conn.execute(
        "SELECT 1 FROM executions WHERE id = %s AND namespace = %s", (execution_id, namespace)
    )
    if await cur.fetchone() is None:
        raise ExecutionNotFound(execution_id)


async def transitions(
    conn: AsyncConnection, execution_id: UUID, namespace: str
) -> list[dict[str, Any]]:
    await exists(conn, execution_id, namespace)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            'SELECT version, type, from_status AS "from", to_status AS "to", reason, actor, at'
            " FROM transitions WHERE execution_id = %s ORDER BY version",
            (execution_id,),
        )
        return await cur.fetchall()


async def status_of(conn: AsyncConnection, execution_id: UUID, namespace: str) -> ExecutionStatus:
    cur = await conn.execute(
        "SELECT status FROM executions WHERE id = %s AND namespace = %s",
        (execution_id, namespace),
    )
    row = await cur.fetchone()
    if row is None:
        raise ExecutionNotFound(execution_id)
    return ExecutionStatus(row[0])


async def projection_position(conn: AsyncConnection, name: str) -> int:
    cur = await conn.execute("SELECT position FROM projection_positions WHERE name = %s", (name,))
    row = await cur.fetchone()
    return int(row[0]) if row else 0
