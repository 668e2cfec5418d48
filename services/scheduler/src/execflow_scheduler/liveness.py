"""Which dispatched work may still run: read from the aggregates, for work the relay
publishes again from the store (after a restart, or into a stream NATS lost). Work
whose attempt has moved on (started, finished, retried, cancelled) is not sent again:
a stale copy delivered after the bus's dedupe window would run a finished step twice."""

from collections.abc import Iterable

from execflow_contracts import ExecutionEvent, ExecutionNotFound, StepDispatched, StepStatus

from .application import ExecutionsApplication


def running_attempts(
    app: ExecutionsApplication, events: Iterable[ExecutionEvent]
) -> dict[tuple[str, str, int], StepDispatched]:
    """The dispatches among `events` whose attempt runs now, by (execution, step,
    attempt) (blocking: it may load aggregates from the store)."""
    running: dict[tuple[str, str, int], StepDispatched] = {}
    for event in events:
        if not isinstance(event, StepDispatched):
            continue
        try:
            state = app.get(event.execution_id).steps.get(event.step_id)
        except ExecutionNotFound:
            continue
        if state and state.attempt == event.attempt and state.status is StepStatus.RUNNING:
            running[(str(event.execution_id), event.step_id, event.attempt)] = event
    return running


def live_dispatches(app: ExecutionsApplication, events: Iterable[ExecutionEvent]) -> set[str]:
    """The dedupe ids of the dispatches among `events` whose attempt still waits in its
    queue (blocking: it may load aggregates from the store)."""
    live: set[str] = set()
    for event in events:
        if not isinstance(event, StepDispatched):
            continue
        try:
            state = app.get(event.execution_id).steps.get(event.step_id)
        except ExecutionNotFound:
            continue
        if state and state.attempt == event.attempt and state.status is StepStatus.QUEUED:
            live.add(event.dedupe_id)
    return live
