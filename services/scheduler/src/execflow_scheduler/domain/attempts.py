"""A step's attempts and their deliveries: reports from runners (and agents, and child
executions) applied, failures retried with backoff, attempt timeouts."""

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from execflow_contracts import ExecutionStatus, StepStatus

from . import events
from .progression import advance, begin
from .settling import fail, move, request_stop, settle

if TYPE_CHECKING:
    from .execution import Execution

# The states a dispatched attempt is in until it ends.
UNDERWAY = (StepStatus.QUEUED, StepStatus.RUNNING, StepStatus.AWAITING_INPUT)


def record_step_claimed(x: "Execution", step_id: str, attempt: int, worker: str) -> None:
    """A runner took the step's work and prepares it: an execution that waited for a
    runner is starting (until a step starts)."""
    state = x.steps.get(step_id)
    if (
        x.status is ExecutionStatus.QUEUED
        and state is not None
        and state.attempt == attempt
        and state.status is StepStatus.QUEUED
    ):
        reason = f"step '{step_id}' taken by {worker}"
        move(x, events.ExecutionStarting, ExecutionStatus.STARTING, reason)


def record_step_started(
    x: "Execution",
    step_id: str,
    attempt: int,
    delivery: int,
    worker: str,
    started_at: datetime,
    claimed_at: datetime | None = None,
    now: datetime | None = None,
) -> None:
    """The runner's `started_at` is what it saw; the attempt's timeout runs on the
    scheduler's clock (`now`, when the report is applied), which alone fires timers."""
    state = x.steps.get(step_id)
    if state is None or state.attempt != attempt:
        return  # a stale attempt: it was retried or never dispatched
    if state.status is StepStatus.RUNNING and delivery > state.delivery:
        # The bus gave the work to another runner: the one before is lost.
        x.trigger_event(
            events.StepDeliveryLost,
            step_id=step_id,
            attempt=attempt,
            delivery=state.delivery,
            worker=None,
        )
    elif state.status is not StepStatus.QUEUED:
        if state.status is StepStatus.CANCELLED:
            request_stop(x, step_id, attempt, "the step was cancelled")
        return
    if claimed_at is not None:  # no claim report was sent: the start says it
        record_step_claimed(x, step_id, attempt, worker)
    timeout = x.spec.attempt_timeout(x.spec.step(step_id))
    x.trigger_event(
        events.StepStarted,
        step_id=step_id,
        attempt=attempt,
        delivery=delivery,
        worker=worker,
        started_at=started_at,
        timeout_at=(now or started_at) + timedelta(seconds=timeout) if timeout else None,
    )
    settle(x, now or started_at, step_started_at=started_at)


def record_step_finished(
    x: "Execution",
    step_id: str,
    attempt: int,
    delivery: int,
    worker: str,
    started_at: datetime,
    finished_at: datetime,
    exit_code: int | None,
    error: str | None,
    error_kind: str | None,
    output: Any,
    now: datetime,
    claimed_at: datetime | None = None,
) -> None:
    state = x.steps.get(step_id)
    if state is None or state.attempt != attempt or state.status not in UNDERWAY:
        return
    if delivery < state.delivery:
        return  # a runner we gave up on finished after all: its successor decides
    if state.status is StepStatus.QUEUED or delivery > state.delivery:
        # A short step's runner sends no start report (and one can be lost with its
        # runner): the finish report says it all, a delivery lost before it included.
        record_step_started(x, step_id, attempt, delivery, worker, started_at, claimed_at, now=now)
    facts = {
        "step_id": step_id,
        "attempt": attempt,
        "delivery": delivery,
        "worker": worker,
        "started_at": started_at,
        "finished_at": finished_at,
        "exit_code": exit_code,
    }
    if exit_code == 0 and error is None:
        x.trigger_event(events.StepSucceeded, output=output, **facts)
        advance(x, now)
        return
    message = error or f"exited with code {exit_code}"
    kind = error_kind or "exit"
    x.trigger_event(events.StepFailed, error=message, error_kind=kind, **facts)
    after_failed_attempt(x, step_id, attempt, exit_code, message, kind, now)


def record_progress(
    x: "Execution", step_id: str, attempt: int, current: float, maximum: float | None, message: str
) -> None:
    state = x.steps.get(step_id)
    if state and state.attempt == attempt and state.status is StepStatus.RUNNING:
        x.trigger_event(
            events.StepProgressed, step_id=step_id, current=current, max=maximum, message=message
        )


def record_facts(
    x: "Execution",
    step_id: str,
    attempt: int,
    delivery: int,
    facts: list[dict[str, Any]],
    sequence: int | None = None,
) -> None:
    """Actions, screenshots, checkpoints and artifacts of the step's current delivery,
    once each: a report seen before (by its sequence) adds nothing."""
    state = x.steps.get(step_id)
    if (
        state
        and facts
        and state.attempt == attempt
        and state.delivery == delivery
        and state.status in (StepStatus.RUNNING, StepStatus.AWAITING_INPUT)
        and (sequence is None or sequence not in state.reported)
    ):
        x.trigger_event(
            events.StepFactsRecorded,
            step_id=step_id,
            attempt=attempt,
            facts=facts,
            sequence=sequence,
        )


def ask(
    x: "Execution",
    step_id: str,
    attempt: int,
    prompt: str,
    input_schema: dict[str, Any] | None,
    now: datetime,
) -> None:
    """A running step asks a question: the execution waits for the answer."""
    state = x.steps.get(step_id)
    if state and state.attempt == attempt and state.status is StepStatus.RUNNING:
        x.trigger_event(
            events.InputRequested, step_id=step_id, prompt=prompt, input_schema=input_schema
        )
        settle(x, now)


def child_finished(
    x: "Execution", child_id: UUID, status: ExecutionStatus, output: Any, error: Any, now: datetime
) -> None:
    waiting = [
        (step_id, state)
        for step_id, state in x.steps.items()
        if state.child_id == child_id and state.status is StepStatus.RUNNING
    ]
    if not waiting:
        return
    step_id, state = waiting[0]
    facts = {
        "step_id": step_id,
        "attempt": state.attempt,
        "delivery": 1,
        "worker": None,
        "started_at": None,
        "finished_at": now,
        "exit_code": None,
    }
    if status is ExecutionStatus.COMPLETED:
        x.trigger_event(events.StepSucceeded, output=output, **facts)
        advance(x, now)
        return
    message = f"child execution {child_id} {status.value}"
    if isinstance(error, dict) and error.get("message"):
        message += f": {error['message']}"
    x.trigger_event(events.StepFailed, error=message, error_kind="exit", **facts)
    after_failed_attempt(x, step_id, state.attempt, None, message, "exit", now)


def after_failed_attempt(
    x: "Execution",
    step_id: str,
    attempt: int,
    exit_code: int | None,
    message: str,
    kind: str,
    now: datetime,
) -> None:
    if x.status is ExecutionStatus.CANCELLING:
        x.trigger_event(events.StepCancelled, step_id=step_id, reason=f"stopped: {message}")
        settle(x, now)
        return
    if x.status.is_terminal:
        return  # a sibling finishing after the execution failed: a fact, nothing more
    policy = x.spec.retry_policy(x.spec.step(step_id))
    if policy.allows_retry(attempt, exit_code, kind):  # type: ignore[arg-type]
        delay = policy.backoff.delay(attempt, jitter(x.id, step_id, attempt))
        x.trigger_event(
            events.StepRetryScheduled,
            step_id=step_id,
            attempt=attempt + 1,
            retry_at=now + timedelta(seconds=delay),
            delay_s=delay,
        )
        settle(x, now, reason=f"step '{step_id}' failed ({message}); retrying in {delay:.1f}s")
        return
    fail(
        x,
        {"step_id": step_id, "exit_code": exit_code, "message": message, "kind": kind},
        f"step '{step_id}' failed: {message}",
        now,
    )


def jitter(execution_id: UUID, step_id: str, attempt: int) -> float:
    """A number in [-1, 1] that spreads retries of different executions apart. Derived
    from the attempt rather than drawn, so that the rules stay pure: the same history
    decides the same delays."""
    digest = hashlib.blake2b(f"{execution_id}:{step_id}:{attempt}".encode(), digest_size=8)
    return int.from_bytes(digest.digest()) / 2**63 - 1


def retry(x: "Execution", step_id: str, attempt: int, now: datetime) -> None:
    state = x.steps.get(step_id)
    if state is None or state.retry_at is None or state.attempt != attempt - 1:
        return  # fired before (or the execution moved on): nothing to do
    begin(x, x.spec.step(step_id), attempt, now)
    settle(x, now, reason=f"retrying step '{step_id}' (attempt {attempt})")


def attempt_timed_out(
    x: "Execution", step_id: str, attempt: int, delivery: int, now: datetime
) -> None:
    state = x.steps.get(step_id)
    if not state or state.attempt != attempt or state.delivery != delivery:
        return
    if state.status not in (StepStatus.RUNNING, StepStatus.AWAITING_INPUT):
        return
    timeout = x.spec.attempt_timeout(x.spec.step(step_id))
    message = f"timed out after {timeout:g}s"
    request_stop(x, step_id, attempt, message)
    x.trigger_event(
        events.StepFailed,
        step_id=step_id,
        attempt=attempt,
        delivery=delivery,
        worker=None,
        started_at=None,
        finished_at=now,
        exit_code=None,
        error=message,
        error_kind="timeout",
    )
    after_failed_attempt(x, step_id, attempt, None, message, "timeout", now)
