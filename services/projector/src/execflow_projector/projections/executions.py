"""Executions, steps, attempts and transitions, from execution events.

Every event first claims its version on the execution row; an event whose version
is already there was applied before and changes nothing (redelivery is harmless).
"""

from collections.abc import Awaitable, Callable
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from execflow_contracts import (
    AnyEvent,
    ChildRequested,
    ExecutionCancelled,
    ExecutionCompleted,
    ExecutionCreated,
    ExecutionEvent,
    ExecutionExpired,
    ExecutionFailed,
    ExecutionRetried,
    ExecutionStatus,
    ExecutionTimedOut,
    InputProvided,
    InputRequested,
    StatusChanged,
    StepCancelled,
    StepDeliveryLost,
    StepDispatched,
    StepFactsRecorded,
    StepFailed,
    StepProgressed,
    StepRetryScheduled,
    StepReused,
    StepSkipped,
    StepStarted,
    StepStatus,
    StepStopRequested,
    StepSucceeded,
    TransitionType,
)

from . import facts, listing

Handler = Callable[[AsyncConnection, Any], Awaitable[None]]

# The timestamp column each status stamps when the execution enters it first.
STATUS_TIMESTAMPS = {
    ExecutionStatus.QUEUED: "queued_at",
    ExecutionStatus.RUNNING: "started_at",
    ExecutionStatus.COMPLETED: "completed_at",
    ExecutionStatus.FAILED: "completed_at",
    ExecutionStatus.CANCELLED: "completed_at",
    ExecutionStatus.TIMED_OUT: "completed_at",
}
READ_MODEL_TABLES = ("steps", "attempts", "transitions", "log_lines")


async def apply(conn: AsyncConnection, event: AnyEvent) -> None:
    if isinstance(event, ExecutionCreated):
        await created(conn, event)
    else:
        status = await claim(conn, event)
        if status is None:
            return  # applied before
        await handler_for(type(event))(conn, event)
        if isinstance(event, (StepSucceeded, StepFailed)):
            outcome = "succeeded" if isinstance(event, StepSucceeded) else f"failed: {event.error}"
            await record_transition(
                conn,
                event,
                TransitionType.STEP,
                status,
                status,
                f"step '{event.step_id}' {outcome}",
                "scheduler",
            )
    await listing.apply(conn, event)


async def claim(conn: AsyncConnection, event: ExecutionEvent) -> ExecutionStatus | None:
    """The execution's status before this event, or None if the event was applied before."""
    cursor = await conn.execute(
        "UPDATE executions SET version = %s, updated_at = %s, projected_at = clock_timestamp()"
        " WHERE id = %s AND version < %s RETURNING status",
        (event.version, event.at, event.execution_id, event.version),
    )
    row = await cursor.fetchone()
    return ExecutionStatus(row[0]) if row else None


async def ignore(conn: AsyncConnection, event: Any) -> None:
    """An event with nothing to show beyond its version (e.g. a stop request)."""


async def created(conn: AsyncConnection, event: ExecutionCreated) -> None:
    cursor = await conn.execute(
        "INSERT INTO executions (id, version, status, workflow, input, metadata, n_steps,"
        " created_at, updated_at, retry_of, parent_id, parent_step)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO NOTHING RETURNING id",
        (
            event.execution_id,
            event.version,
            ExecutionStatus.PENDING,
            Jsonb(event.workflow.model_dump(mode="json", by_alias=True)),
            Jsonb(event.input),
            Jsonb(event.metadata),
            len(event.workflow.steps),
            event.at,
            event.at,
            event.retry_of,
            event.parent_id,
            event.parent_step,
        ),
    )
    if await cursor.fetchone() is None:
        return  # created before: a redelivery
    await conn.execute(
        "UPDATE executions SET workflow_id = %s, workflow_version = %s, priority = %s"
        " WHERE id = %s",
        (
            event.workflow_id,
            event.workflow_version,
            event.priority if event.priority is not None else event.workflow.priority,
            event.execution_id,
        ),
    )
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO steps (execution_id, step_id, position, status, needs, queue)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [
                (
                    event.execution_id,
                    s.id,
                    i,
                    StepStatus.PENDING,
                    Jsonb(s.needs),
                    event.workflow.queue(s),
                )
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
        sets.append(f"{stamp} = coalesce({stamp}, %(at)s)")
    if isinstance(event, ExecutionCompleted):
        sets.append("output = %(output)s")
    if isinstance(event, ExecutionFailed):
        sets.append("error = %(error)s")
    if isinstance(event, (ExecutionCancelled, ExecutionTimedOut)):
        sets.append("stopped_steps = %(stopped)s")
    await conn.execute(
        f"UPDATE executions SET {', '.join(sets)} WHERE id = %(id)s",
        {
            "status": event.to_status,
            "reason": event.reason,
            "at": event.at,
            "id": event.execution_id,
            "output": Jsonb(getattr(event, "output", None)),
            "error": Jsonb(getattr(event, "error", None)),
            "stopped": Jsonb(getattr(event, "stopped_steps", None)),
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


async def retried(conn: AsyncConnection, event: ExecutionRetried) -> None:
    await conn.execute(
        "UPDATE executions SET retried_by = %s WHERE id = %s",
        (event.new_execution_id, event.execution_id),
    )


async def expired(conn: AsyncConnection, event: ExecutionExpired) -> None:
    for table in READ_MODEL_TABLES:
        await conn.execute(f"DELETE FROM {table} WHERE execution_id = %s", (event.execution_id,))
    await conn.execute("DELETE FROM executions WHERE id = %s", (event.execution_id,))


async def step_dispatched(conn: AsyncConnection, event: StepDispatched) -> None:
    await update_step(
        conn,
        event,
        status=StepStatus.QUEUED,
        attempts=event.attempt,
        queue=event.queue,
        next_attempt_at=None,
    )


async def child_requested(conn: AsyncConnection, event: ChildRequested) -> None:
    await update_step(
        conn,
        event,
        status=StepStatus.RUNNING,
        attempts=event.attempt,
        child_id=event.child_id,
        started_at=event.at,
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
    await conn.execute(
        "INSERT INTO attempts (execution_id, step_id, attempt, delivery, status, worker,"
        " started_at) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (
            event.execution_id,
            event.step_id,
            event.attempt,
            event.delivery,
            StepStatus.RUNNING,
            event.worker,
            event.started_at,
        ),
    )


async def step_succeeded(conn: AsyncConnection, event: StepSucceeded) -> None:
    await update_step(
        conn,
        event,
        status=StepStatus.SUCCEEDED,
        finished_at=event.finished_at,
        exit_code=event.exit_code,
        output=Jsonb(event.output),
        asking=False,
    )
    await finish_attempt(conn, event, StepStatus.SUCCEEDED, event.exit_code, None, None)


async def step_failed(conn: AsyncConnection, event: StepFailed) -> None:
    await update_step(
        conn,
        event,
        status=StepStatus.FAILED,
        finished_at=event.finished_at,
        exit_code=event.exit_code,
        error=event.error,
        asking=False,
    )
    await finish_attempt(
        conn, event, StepStatus.FAILED, event.exit_code, event.error, event.error_kind
    )


async def finish_attempt(
    conn: AsyncConnection,
    event: StepSucceeded | StepFailed,
    status: StepStatus,
    exit_code: int | None,
    error: str | None,
    error_kind: str | None,
) -> None:
    await conn.execute(
        "INSERT INTO attempts (execution_id, step_id, attempt, delivery, status, worker,"
        " exit_code, error, error_kind, started_at, finished_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (execution_id, step_id, attempt, delivery) DO UPDATE SET"
        " status = EXCLUDED.status, exit_code = EXCLUDED.exit_code, error = EXCLUDED.error,"
        " error_kind = EXCLUDED.error_kind, finished_at = EXCLUDED.finished_at,"
        " worker = coalesce(EXCLUDED.worker, attempts.worker),"
        " started_at = coalesce(attempts.started_at, EXCLUDED.started_at)",
        (
            event.execution_id,
            event.step_id,
            event.attempt,
            event.delivery,
            status,
            event.worker,
            exit_code,
            error,
            error_kind,
            event.started_at,
            event.finished_at,
        ),
    )


async def delivery_lost(conn: AsyncConnection, event: StepDeliveryLost) -> None:
    await conn.execute(
        "UPDATE attempts SET status = 'lost', error = 'its runner stopped responding',"
        " error_kind = 'lost', finished_at = %s"
        " WHERE execution_id = %s AND step_id = %s AND attempt = %s AND delivery = %s",
        (event.at, event.execution_id, event.step_id, event.attempt, event.delivery),
    )


async def retry_scheduled(conn: AsyncConnection, event: StepRetryScheduled) -> None:
    await update_step(
        conn,
        event,
        status=StepStatus.PENDING,
        next_attempt_at=event.retry_at,
        message=f"retrying in {event.delay_s:.1f}s",
    )


async def stop_requested(conn: AsyncConnection, event: StepStopRequested) -> None:
    await update_step(conn, event, message=f"stopping: {event.reason}")


async def step_cancelled(conn: AsyncConnection, event: StepCancelled) -> None:
    await update_step(
        conn, event, status=StepStatus.CANCELLED, message=event.reason, next_attempt_at=None
    )
    await conn.execute(
        "UPDATE attempts SET status = 'cancelled', error = %s, finished_at = %s"
        " WHERE execution_id = %s AND step_id = %s AND finished_at IS NULL",
        (event.reason, event.at, event.execution_id, event.step_id),
    )


async def step_skipped(conn: AsyncConnection, event: StepSkipped) -> None:
    await update_step(conn, event, status=StepStatus.SKIPPED, message=event.reason)


async def step_reused(conn: AsyncConnection, event: StepReused) -> None:
    await update_step(
        conn,
        event,
        status=StepStatus.SUCCEEDED,
        output=Jsonb(event.output),
        message=f"reused from execution {event.from_execution}",
    )


async def step_progressed(conn: AsyncConnection, event: StepProgressed) -> None:
    progress = {"current": event.current, "max": event.max, "message": event.message}
    await update_step(conn, event, progress=Jsonb(progress))
    await conn.execute(
        "UPDATE executions SET progress = %s WHERE id = %s",
        (Jsonb(progress | {"step_id": event.step_id}), event.execution_id),
    )


async def input_requested(conn: AsyncConnection, event: InputRequested) -> None:
    await conn.execute(
        "UPDATE steps SET asking = (status = 'running'), status = %s, prompt = %s,"
        " input_schema = %s WHERE execution_id = %s AND step_id = %s",
        (
            StepStatus.AWAITING_INPUT,
            event.prompt,
            Jsonb(event.input_schema),
            event.execution_id,
            event.step_id,
        ),
    )


async def input_provided(conn: AsyncConnection, event: InputProvided) -> None:
    # A step that asked while running goes on running; an input step is done.
    await conn.execute(
        "UPDATE steps SET status = CASE WHEN asking THEN 'running' ELSE 'succeeded' END,"
        " output = CASE WHEN asking THEN output ELSE %s END,"
        " finished_at = CASE WHEN asking THEN finished_at ELSE %s END,"
        " message = %s, asking = false WHERE execution_id = %s AND step_id = %s",
        (
            Jsonb(event.value),
            event.at,
            f"answered by {event.actor}",
            event.execution_id,
            event.step_id,
        ),
    )


async def update_step(conn: AsyncConnection, event: Any, **columns: Any) -> None:
    sets = ", ".join(f"{name} = %({name})s" for name in columns)
    await conn.execute(
        f"UPDATE steps SET {sets} WHERE execution_id = %(execution_id)s AND step_id = %(step_id)s",
        columns | {"execution_id": event.execution_id, "step_id": event.step_id},
    )


HANDLERS: dict[type[ExecutionEvent], Handler] = {
    ExecutionRetried: retried,
    ExecutionExpired: expired,
    StepDispatched: step_dispatched,
    ChildRequested: child_requested,
    StepStarted: step_started,
    StepSucceeded: step_succeeded,
    StepFailed: step_failed,
    StepDeliveryLost: delivery_lost,
    StepRetryScheduled: retry_scheduled,
    StepStopRequested: stop_requested,
    StepCancelled: step_cancelled,
    StepReused: step_reused,
    StepSkipped: step_skipped,
    StepProgressed: step_progressed,
    StepFactsRecorded: facts.facts_recorded,
    InputRequested: input_requested,
    InputProvided: input_provided,
}


def handler_for(event_type: type[ExecutionEvent]) -> Handler:
    if issubclass(event_type, StatusChanged):
        return status_changed
    return HANDLERS.get(event_type, ignore)
