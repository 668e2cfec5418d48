"""Steps and attempts, from the step events: the statements each newly taken event makes.

None of them reads a result, so in a pipelined batch they go out without waiting.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from execflow_contracts import (
    ChildRequested,
    ExecutionEvent,
    InputProvided,
    InputRequested,
    StepCancelled,
    StepDeliveryLost,
    StepDispatched,
    StepFailed,
    StepProgressed,
    StepRetryScheduled,
    StepReused,
    StepSkipped,
    StepStarted,
    StepStatus,
    StepStopRequested,
    StepSucceeded,
)

Handler = Callable[[AsyncConnection, Any], Awaitable[None]]


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
    InputRequested: input_requested,
    InputProvided: input_provided,
}
