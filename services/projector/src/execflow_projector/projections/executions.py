"""Executions, steps and transitions, from execution events.

Every event first claims its version on the execution row; an event whose version
is already there was applied before and changes nothing (redelivery is harmless).
"""

from collections.abc import Awaitable, Callable
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from execflow_contracts import (
    AnyEvent,
    ExecutionCompleted,
    ExecutionCreated,
    ExecutionEvent,
    ExecutionFailed,
    ExecutionQueued,
    ExecutionStarted,
    ExecutionStatus,
    StatusChanged,
    StepCancelled,
    StepDispatched,
    StepFailed,
    StepStarted,
    StepStatus,
    StepSucceeded,
    TransitionType,
)

from . import listing

Handler = Callable[[AsyncConnection, Any], Awaitable[None]]

# The timestamp column each status stamps when the execution enters it.
STATUS_TIMESTAMPS = {
    ExecutionStatus.QUEUED: "queued_at",
    ExecutionStatus.RUNNING: "started_at",
    ExecutionStatus.COMPLETED: "completed_at",
    ExecutionStatus.FAILED: "completed_at",
    ExecutionStatus.CANCELLED: "completed_at",
    ExecutionStatus.TIMED_OUT: "completed_at",
}


async def apply(conn: AsyncConnection, event: AnyEvent) -> None:
    if isinstance(event, ExecutionCreated):
        await created(conn, event)
    elif await claim(conn, event):
        await HANDLERS[type(event)](conn, event)
    else:
        return
    await listing.apply(conn, event)


async def claim(conn: AsyncConnection, event: ExecutionEvent) -> bool:
    cursor = await conn.execute(
        "UPDATE executions SET version = %s, updated_at = %s WHERE id = %s AND version < %s",
        (event.version, event.at, event.execution_id, event.version),
    )
    return cursor.rowcount == 1


async def created(conn: AsyncConnection, event: ExecutionCreated) -> None:
    cursor = await conn.execute(
        "INSERT INTO executions (id, version, status, workflow, input, metadata, n_steps,"
        " created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO NOTHING",
        (
            event.execution_id,
            event.version,
            ExecutionStatus.PENDING,
            Jsonb(event.workflow.model_dump(mode="json")),
            Jsonb(event.input),
            Jsonb(event.metadata),
            len(event.workflow.steps),
            event.at,
            event.at,
        ),
    )
    if cursor.rowcount == 0:
        return
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO steps (execution_id, step_id, position, status, needs, queue)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [
                (event.execution_id, s.id, i, StepStatus.PENDING, Jsonb(s.needs), s.queue)
                for i, s in enumerate(event.workflow.steps)
            ],
        )
    await record_transition(
        conn, event, TransitionType.INIT, None, ExecutionStatus.PENDING, "created", event.actor
    )


async def status_changed(conn: AsyncConnection, event: StatusChanged) -> None:
    stamp = STATUS_TIMESTAMPS.get(event.to_status)
    sets = ["status = %(status)s", "message = %(reason)s"]
    if stamp:
        sets.append(f"{stamp} = %(at)s")
    if isinstance(event, ExecutionCompleted):
        sets.append("output = %(output)s")
    if isinstance(event, ExecutionFailed):
        sets.append("error = %(error)s")
    await conn.execute(
        f"UPDATE executions SET {', '.join(sets)} WHERE id = %(id)s",
        {
            "status": event.to_status,
            "reason": event.reason,
            "at": event.at,
            "id": event.execution_id,
            "output": Jsonb(getattr(event, "output", None)),
            "error": Jsonb(getattr(event, "error", None)),
        },
    )
    await record_transition(
        conn,
        event,
        event.transition,
        event.from_status,
        event.to_status,
        event.reason,
        event.actor,
    )


async def record_transition(
    conn: AsyncConnection,
    event: ExecutionEvent,
    kind: TransitionType,
    from_status: ExecutionStatus | None,
    to_status: ExecutionStatus,
    reason: str,
    actor: str,
) -> None:
    await conn.execute(
        "INSERT INTO transitions (execution_id, version, type, from_status, to_status,"
        " reason, actor, at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT DO NOTHING",
        (event.execution_id, event.version, kind, from_status, to_status, reason, actor, event.at),
    )


async def step_dispatched(conn: AsyncConnection, event: StepDispatched) -> None:
    await update_step(
        conn, event, status=StepStatus.QUEUED, attempts=event.attempt, queue=event.queue
    )


async def step_started(conn: AsyncConnection, event: StepStarted) -> None:
    await update_step(
        conn,
        event,
        status=StepStatus.RUNNING,
        worker=event.worker,
        started_at=event.started_at,
        finished_at=None,
        exit_code=None,
        error=None,
    )


async def step_succeeded(conn: AsyncConnection, event: StepSucceeded) -> None:
    await update_step(
        conn,
        event,
        status=StepStatus.SUCCEEDED,
        worker=event.worker,
        started_at=event.started_at,
        finished_at=event.finished_at,
        exit_code=event.exit_code,
    )


async def step_failed(conn: AsyncConnection, event: StepFailed) -> None:
    await update_step(
        conn,
        event,
        status=StepStatus.FAILED,
        worker=event.worker,
        started_at=event.started_at,
        finished_at=event.finished_at,
        exit_code=event.exit_code,
        error=event.error,
    )


async def step_cancelled(conn: AsyncConnection, event: StepCancelled) -> None:
    await update_step(conn, event, status=StepStatus.CANCELLED, message=event.reason)


async def update_step(conn: AsyncConnection, event: Any, **columns: Any) -> None:
    sets = ", ".join(f"{name} = %({name})s" for name in columns)
    await conn.execute(
        f"UPDATE steps SET {sets} WHERE execution_id = %(execution_id)s AND step_id = %(step_id)s",
        columns | {"execution_id": event.execution_id, "step_id": event.step_id},
    )


HANDLERS: dict[type[ExecutionEvent], Handler] = {
    ExecutionQueued: status_changed,
    ExecutionStarted: status_changed,
    ExecutionCompleted: status_changed,
    ExecutionFailed: status_changed,
    StepDispatched: step_dispatched,
    StepStarted: step_started,
    StepSucceeded: step_succeeded,
    StepFailed: step_failed,
    StepCancelled: step_cancelled,
}
