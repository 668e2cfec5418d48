"""Which execution status may follow which, and which status the steps call for."""

from collections.abc import Iterable

from execflow_contracts import ExecutionStatus as S
from execflow_contracts import StepStatus
from execflow_contracts import TransitionType as T

_ACTIVE = {S.CANCELLING, S.FAILED, S.TIMED_OUT, S.CANCELLED}
ALLOWED_MOVES: dict[S, frozenset[S]] = {
    S.PENDING: frozenset({S.QUEUED, S.AWAITING_INPUT, S.RUNNING, S.COMPLETED, *_ACTIVE}),
    S.QUEUED: frozenset({S.STARTING, S.RUNNING, S.AWAITING_INPUT, S.COMPLETED, *_ACTIVE}),
    S.STARTING: frozenset({S.RUNNING, S.AWAITING_INPUT, S.COMPLETED, S.BACKOFF, *_ACTIVE}),
    S.RUNNING: frozenset({S.COMPLETED, S.AWAITING_INPUT, S.BACKOFF, *_ACTIVE}),
    S.AWAITING_INPUT: frozenset({S.RUNNING, S.QUEUED, S.COMPLETED, S.BACKOFF, *_ACTIVE}),
    S.BACKOFF: frozenset({S.QUEUED, S.RUNNING, S.AWAITING_INPUT, *_ACTIVE}),
    S.CANCELLING: frozenset({S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
    S.TIMED_OUT: frozenset(),
}


def can_move(current: S, target: S) -> bool:
    return target in ALLOWED_MOVES[current]


def transition_type(current: S, target: S) -> T:
    """The audit trail's name for a move."""
    if target is S.RUNNING:
        return {S.AWAITING_INPUT: T.RESUME, S.BACKOFF: T.RETRY}.get(current, T.START)
    return {
        S.QUEUED: T.QUEUE,
        S.STARTING: T.START,
        S.AWAITING_INPUT: T.WAIT,
        S.BACKOFF: T.RETRY,
        S.COMPLETED: T.FINISH,
        S.FAILED: T.ERROR,
        S.CANCELLING: T.CANCEL,
        S.CANCELLED: T.CANCEL,
        S.TIMED_OUT: T.TIMEOUT,
    }[target]


def status_called_for(current: S, steps: Iterable[tuple[StepStatus, bool]]) -> S | None:
    """What the execution's status should be given its steps' (status, waiting to retry);
    None when the steps call for no change. Terminal and cancelling states decide
    elsewhere."""
    states = list(steps)
    statuses = {status for status, _ in states}
    if statuses <= {StepStatus.SUCCEEDED, StepStatus.SKIPPED}:
        return S.COMPLETED
    if StepStatus.AWAITING_INPUT in statuses:
        return S.AWAITING_INPUT
    if StepStatus.RUNNING in statuses:
        return S.RUNNING
    if StepStatus.QUEUED in statuses:
        # Once running, an execution whose next step waits for a runner still runs; one
        # whose step a runner has taken (and prepares) is starting until that step starts.
        if current in (S.RUNNING, S.AWAITING_INPUT):
            return S.RUNNING
        return S.STARTING if current is S.STARTING else S.QUEUED
    if any(retrying for _, retrying in states):
        return S.BACKOFF
    return None
