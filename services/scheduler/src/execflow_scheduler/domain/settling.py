"""The execution's status: settled from its steps' states, moved only along the legal
transitions, and the endings (failed, timed out, cancelled) with the steps they stop."""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from execflow_contracts import ExecutionStatus, IllegalTransition, StepStatus

from . import events
from .lifecycle import can_move, status_called_for, transition_type

if TYPE_CHECKING:
    from .execution import Execution

STARTING = ExecutionStatus.STARTING
SYSTEM = "scheduler"
# Steps in these states have not started running: stopping them is cancelling them.
WAITING_TO_RUN = (StepStatus.PENDING, StepStatus.QUEUED, StepStatus.AWAITING_INPUT)
DEFAULT_REASONS = {
    ExecutionStatus.QUEUED: "steps dispatched",
    ExecutionStatus.AWAITING_INPUT: "waiting for input",
    ExecutionStatus.BACKOFF: "waiting to retry",
    ExecutionStatus.RUNNING: "running",
}


def settle(
    x: "Execution", now: datetime, reason: str = "", step_started_at: datetime | None = None
) -> None:
    """Move the execution to the status its steps call for, if that is a change.
    `step_started_at`: when the step whose start is being applied started, by its runner."""
    if x.status.is_terminal:
        return
    if x.status is ExecutionStatus.CANCELLING:
        if not any(s.status is StepStatus.RUNNING for s in x.steps.values()):
            move(
                x,
                events.ExecutionCancelled,
                ExecutionStatus.CANCELLED,
                "every step stopped",
                stopped_steps=x.stopped_steps,
                expires_at=expiry(x, now),
            )
        return
    target = status_called_for(
        x.status, ((s.status, s.retry_at is not None) for s in x.steps.values())
    )
    if target is None or target is x.status:
        return
    if target is ExecutionStatus.COMPLETED:
        outputs = {i: s.output for i, s in x.steps.items() if s.output is not None}
        move(
            x,
            events.ExecutionCompleted,
            target,
            reason or "all steps succeeded",
            output=outputs or None,
            expires_at=expiry(x, now),
        )
        return
    event_class = {
        ExecutionStatus.QUEUED: events.ExecutionQueued,
        ExecutionStatus.AWAITING_INPUT: events.ExecutionWaiting,
        ExecutionStatus.BACKOFF: events.ExecutionBackingOff,
        ExecutionStatus.RUNNING: (
            events.ExecutionStarted
            if x.status in (ExecutionStatus.PENDING, ExecutionStatus.QUEUED, STARTING)
            else events.ExecutionResumed
        ),
    }[target]
    if target is ExecutionStatus.QUEUED and not reason and x.gates:
        reason = "waiting for a runner and for " + ", ".join(
            f"{gate['name']} (at most {gate['max']} at once)" for gate in x.gates
        )
    fields: dict[str, Any] = {}
    if event_class is events.ExecutionStarted:
        # Not later than its first step's start, nor than now (a runner's clock may be
        # ahead of the scheduler's, which alone decides).
        fields["started_at"] = min(step_started_at or now, now)
    move(x, event_class, target, reason or DEFAULT_REASONS[target], expires_at=None, **fields)


def move(
    x: "Execution",
    event_class: type[events.StatusChanged],
    target: ExecutionStatus,
    reason: str,
    actor: str = SYSTEM,
    expires_at: datetime | None = None,
    **fields: Any,
) -> None:
    if not can_move(x.status, target):
        raise IllegalTransition(
            f"execution {x.id} cannot move from {x.status.value} to {target.value}"
        )
    x.trigger_event(
        event_class,
        from_status=x.status.value,
        to_status=target.value,
        transition=transition_type(x.status, target).value,
        reason=reason,
        actor=actor,
        expires_at=expires_at,
        **fields,
    )


def expiry(x: "Execution", now: datetime) -> datetime | None:
    """When a finished execution's time to live ends (`ttl.delete_after`)."""
    delete_after = x.spec.ttl.delete_after
    return now + timedelta(seconds=delete_after) if delete_after is not None else None


def fail(x: "Execution", error: dict[str, Any], reason: str, now: datetime) -> None:
    stop_all(x, f"execution failed: {reason}")
    move(
        x,
        events.ExecutionFailed,
        ExecutionStatus.FAILED,
        reason,
        error=error,
        expires_at=expiry(x, now),
    )


def timed_out(x: "Execution", now: datetime) -> None:
    if x.status.is_terminal:
        return
    overall = x.spec.timeout.overall or 0
    stopped = stop_all(x, f"execution timed out after {overall:g}s")
    move(
        x,
        events.ExecutionTimedOut,
        ExecutionStatus.TIMED_OUT,
        f"overall timeout of {overall:g}s",
        stopped_steps=stopped,
        expires_at=expiry(x, now),
    )


def force_cancelled(x: "Execution", now: datetime) -> None:
    """The cancel's grace is over: steps that have not stopped are cancelled anyway."""
    if x.status is not ExecutionStatus.CANCELLING:
        return
    for step_id, state in x.steps.items():
        if state.status is StepStatus.RUNNING:
            x.trigger_event(events.StepCancelled, step_id=step_id, reason="did not stop in time")
    settle(x, now)


def stop_all(x: "Execution", reason: str) -> list[str]:
    """Cancel what waits; ask runners to stop what runs. Returns the running steps."""
    running = []
    for step_id, state in x.steps.items():
        if state.status is StepStatus.RUNNING or (
            state.status is StepStatus.AWAITING_INPUT and state.asking
        ):
            running.append(step_id)
            request_stop(x, step_id, state.attempt, reason)
        elif state.status in WAITING_TO_RUN:
            if state.status is StepStatus.QUEUED:
                request_stop(x, step_id, state.attempt, reason)
            x.trigger_event(events.StepCancelled, step_id=step_id, reason=reason)
    return running


def request_stop(x: "Execution", step_id: str, attempt: int, reason: str) -> None:
    x.trigger_event(events.StepStopRequested, step_id=step_id, attempt=attempt, reason=reason)
