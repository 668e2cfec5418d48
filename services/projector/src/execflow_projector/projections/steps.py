"""Steps and attempts, from the step events: what each newly taken event writes.

Most of it is only noted as it comes and written when the batch ends, folded
(`StepWrites`): a step's UPDATEs become one (every column they set is overwritten, so
the last event's value wins, as one UPDATE at a time would leave it), and the batch's
attempt starts and finishes go in one statement each. The few statements that read
what is there already go out in place, after everything noted before them. None of
them reads a result, so in a pipelined batch they go out without waiting.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from execflow_contracts import (
    STEP_STATUS_AFTER,
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

from .bulk import RowsInsert, as_arrays, rows_update

STEP_KEY = (("execution_id", "uuid"), ("step_id", "text"))
# The type of each column a step event overwrites.
STEP_COLUMNS = {
    "status": "text",
    "attempts": "integer",
    "queue": "text",
    "next_attempt_at": "timestamptz",
    "worker": "text",
    "started_at": "timestamptz",
    "finished_at": "timestamptz",
    "exit_code": "integer",
    "error": "text",
    "output": "jsonb",
    "asking": "boolean",
    "message": "text",
    "child_id": "uuid",
    "progress": "jsonb",
}
# An attempt's key, then what both its start and its finish say of it.
ATTEMPT_COLUMNS = [
    ("execution_id", "uuid"),
    ("step_id", "text"),
    ("attempt", "integer"),
    ("delivery", "integer"),
    ("status", "text"),
    ("worker", "text"),
]
START_ATTEMPTS = RowsInsert(
    "attempts", [*ATTEMPT_COLUMNS, ("started_at", "timestamptz")], "ON CONFLICT DO NOTHING"
)
FINISH_ATTEMPTS = RowsInsert(
    "attempts",
    [
        *ATTEMPT_COLUMNS,
        ("exit_code", "integer"),
        ("error", "text"),
        ("error_kind", "text"),
        ("started_at", "timestamptz"),
        ("finished_at", "timestamptz"),
    ],
    "ON CONFLICT (execution_id, step_id, attempt, delivery) DO UPDATE SET"
    " status = EXCLUDED.status, exit_code = EXCLUDED.exit_code, error = EXCLUDED.error,"
    " error_kind = EXCLUDED.error_kind, finished_at = EXCLUDED.finished_at,"
    " worker = coalesce(EXCLUDED.worker, attempts.worker),"
    " started_at = coalesce(attempts.started_at, EXCLUDED.started_at)",
)

StepKey = tuple[UUID, str]
AttemptKey = tuple[UUID, str, int, int]


class StepWrites:
    """One batch's writes to steps and attempts, in event order as far as the result
    can tell: noted ones are held until `flush`, which `execute` calls first."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._steps: dict[StepKey, dict[str, Any]] = {}
        self._starts: dict[AttemptKey, tuple[Any, ...]] = {}
        self._finishes: dict[AttemptKey, tuple[Any, ...]] = {}

    def set_step(self, event: Any, **columns: Any) -> None:
        self._steps.setdefault((event.execution_id, event.step_id), {}).update(columns)

    async def start_attempt(self, key: AttemptKey, row: tuple[Any, ...]) -> None:
        # Starts go in before finishes: exact unless this attempt has finished already.
        if key in self._finishes:
            await self.flush()
        self._starts.setdefault(key, row)  # a second start of it would change nothing

    async def finish_attempt(self, key: AttemptKey, row: tuple[Any, ...]) -> None:
        if key in self._finishes:  # one statement cannot update a row twice
            await self.flush()
        self._finishes[key] = row

    async def execute(self, query: str, params: Sequence[Any] | dict[str, Any]) -> None:
        """A statement that must find everything noted before it written."""
        await self.flush()
        await self._conn.execute(query, params)

    async def flush(self) -> None:
        shapes: dict[tuple[str, ...], list[tuple[StepKey, dict[str, Any]]]] = {}
        for key, columns in self._steps.items():
            shapes.setdefault(tuple(sorted(columns)), []).append((key, columns))
        for shape, rows in shapes.items():
            statement = rows_update("steps", STEP_KEY, tuple((c, STEP_COLUMNS[c]) for c in shape))
            values = [(*key, *(columns[name] for name in shape)) for key, columns in rows]
            await self._conn.execute(statement, as_arrays(values))
        await START_ATTEMPTS.run(self._conn, list(self._starts.values()))
        await FINISH_ATTEMPTS.run(self._conn, list(self._finishes.values()))
        self._steps.clear()
        self._starts.clear()
        self._finishes.clear()


Handler = Callable[[StepWrites, Any], Awaitable[None]]


def after(event: ExecutionEvent) -> StepStatus:
    """The status the event leaves its step in (the contracts' step machine)."""
    return STEP_STATUS_AFTER[type(event).__name__]


async def step_dispatched(writes: StepWrites, event: StepDispatched) -> None:
    writes.set_step(
        event,
        status=after(event),
        attempts=event.attempt,
        queue=event.queue,
        next_attempt_at=None,
    )


async def child_requested(writes: StepWrites, event: ChildRequested) -> None:
    writes.set_step(
        event,
        status=after(event),
        attempts=event.attempt,
        child_id=event.child_id,
        started_at=event.at,
    )


async def step_started(writes: StepWrites, event: StepStarted) -> None:
    writes.set_step(
        event,
        status=after(event),
        worker=event.worker,
        started_at=event.started_at,
        finished_at=None,
        exit_code=None,
        error=None,
    )
    await writes.start_attempt(
        attempt_key(event),
        (*attempt_key(event), after(event), event.worker, event.started_at),
    )


async def step_succeeded(writes: StepWrites, event: StepSucceeded) -> None:
    writes.set_step(
        event,
        status=after(event),
        finished_at=event.finished_at,
        exit_code=event.exit_code,
        output=Jsonb(event.output),
        asking=False,
    )
    await finish_attempt(writes, event, after(event), event.exit_code, None, None)


async def step_failed(writes: StepWrites, event: StepFailed) -> None:
    writes.set_step(
        event,
        status=after(event),
        finished_at=event.finished_at,
        exit_code=event.exit_code,
        error=event.error,
        asking=False,
    )
    await finish_attempt(
        writes, event, after(event), event.exit_code, event.error, event.error_kind
    )


def attempt_key(event: StepStarted | StepSucceeded | StepFailed) -> AttemptKey:
    return (event.execution_id, event.step_id, event.attempt, event.delivery)


async def finish_attempt(
    writes: StepWrites,
    event: StepSucceeded | StepFailed,
    status: StepStatus,
    exit_code: int | None,
    error: str | None,
    error_kind: str | None,
) -> None:
    await writes.finish_attempt(
        attempt_key(event),
        (
            *attempt_key(event),
            status,
            event.worker,
            exit_code,
            error,
            error_kind,
            event.started_at,
            event.finished_at,
        ),
    )


async def delivery_lost(writes: StepWrites, event: StepDeliveryLost) -> None:
    await writes.execute(
        "UPDATE attempts SET status = 'lost', error = 'its runner stopped responding',"
        " error_kind = 'lost', finished_at = %s"
        " WHERE execution_id = %s AND step_id = %s AND attempt = %s AND delivery = %s",
        (event.at, event.execution_id, event.step_id, event.attempt, event.delivery),
    )


async def retry_scheduled(writes: StepWrites, event: StepRetryScheduled) -> None:
    writes.set_step(
        event,
        status=after(event),
        next_attempt_at=event.retry_at,
        message=f"retrying in {event.delay_s:.1f}s",
    )


async def stop_requested(writes: StepWrites, event: StepStopRequested) -> None:
    writes.set_step(event, message=f"stopping: {event.reason}")


async def step_cancelled(writes: StepWrites, event: StepCancelled) -> None:
    writes.set_step(event, status=after(event), message=event.reason, next_attempt_at=None)
    await writes.execute(
        "UPDATE attempts SET status = 'cancelled', error = %s, finished_at = %s"
        " WHERE execution_id = %s AND step_id = %s AND finished_at IS NULL",
        (event.reason, event.at, event.execution_id, event.step_id),
    )


async def step_skipped(writes: StepWrites, event: StepSkipped) -> None:
    writes.set_step(event, status=after(event), message=event.reason)


async def step_reused(writes: StepWrites, event: StepReused) -> None:
    writes.set_step(
        event,
        status=after(event),
        output=Jsonb(event.output),
        message=f"reused from execution {event.from_execution}",
    )


async def step_progressed(writes: StepWrites, event: StepProgressed) -> None:
    progress = {"current": event.current, "max": event.max, "message": event.message}
    writes.set_step(event, progress=Jsonb(progress))


async def input_requested(writes: StepWrites, event: InputRequested) -> None:
    await writes.execute(
        "UPDATE steps SET asking = (status = 'running'), status = %s, prompt = %s,"
        " input_schema = %s WHERE execution_id = %s AND step_id = %s",
        (
            after(event),
            event.prompt,
            Jsonb(event.input_schema),
            event.execution_id,
            event.step_id,
        ),
    )


async def input_provided(writes: StepWrites, event: InputProvided) -> None:
    # A step that asked while running goes on running; an input step is done.
    await writes.execute(
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
