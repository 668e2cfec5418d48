"""The Execution aggregate: the lifecycle rules, pure, no I/O.

Its domain events carry the names and fields of the public events in
`execflow_contracts.events`; the relay publishes them in that shape. Command
methods take the time (`now`) as an argument so that the rules stay pure.
"""

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import jsonschema
from eventsourcing.domain import Aggregate, event

from execflow_contracts import (
    ExecutionStatus,
    IdempotencyConflict,
    IllegalTransition,
    InvalidInput,
    StepSpec,
    StepStatus,
    stored_workflow,
)

from .lifecycle import can_move, status_called_for, transition_type
from .workflow import ExpressionError, WorkflowRules

SYSTEM = "scheduler"
# How long cancelled steps get to stop before the execution is cancelled regardless.
CANCEL_GRACE = timedelta(seconds=60)
WAITING_TO_RUN = (StepStatus.PENDING, StepStatus.QUEUED, StepStatus.AWAITING_INPUT)
# Needs in these states let a step go ahead (or be skipped in turn).
DONE = (StepStatus.SUCCEEDED, StepStatus.SKIPPED)


@dataclass
class StepState:
    status: StepStatus = StepStatus.PENDING
    attempt: int = 0  # the latest dispatched attempt
    delivery: int = 0  # which delivery of that attempt runs now
    retry_at: datetime | None = None  # set while waiting to retry
    output: Any = None
    child_id: UUID | None = None
    asking: bool = False  # a running step that asked a question


class Execution(Aggregate):
    @staticmethod
    def create_id(execution_id: UUID, **_: Any) -> UUID:
        return execution_id

    @event("ExecutionCreated")
    def __init__(
        self,
        execution_id: UUID,
        workflow: dict[str, Any],
        input: Any,
        metadata: dict[str, Any],
        actor: str,
        retry_of: UUID | None = None,
        parent_id: UUID | None = None,
        parent_step: str | None = None,
        request_hash: str | None = None,
        timeout_at: datetime | None = None,
        workflow_id: str | None = None,
        workflow_version: int | None = None,
        priority: int | None = None,
    ) -> None:
        self.status = ExecutionStatus.PENDING
        self.spec = stored_workflow(workflow)
        self.input = input
        self.parent_id = parent_id
        self.parent_step = parent_step
        self.request_hash = request_hash
        self.steps = {s.id: StepState() for s in self.spec.steps}
        self.metadata = metadata
        self.has_started = False
        self.stopped_steps: list[str] = []
        self.expired = False
        # The JSON Schema each waiting step's answer must match.
        self.questions: dict[str, dict[str, Any] | None] = {}
        self.workflow_id = workflow_id
        self.workflow_version = workflow_version
        self.requested_priority = priority
        self.priority = priority if priority is not None else self.spec.priority
        # The concurrency limits its work waits for, once it has dispatched some.
        self.gates: list[dict[str, Any]] = []

    # -- events: status changes --------------------------------------------------

    class StatusChanged(Aggregate.Event):
        from_status: str
        to_status: str
        transition: str
        reason: str
        actor: str
        expires_at: datetime | None

        def apply(self, aggregate: "Execution") -> None:
            aggregate.status = ExecutionStatus(self.to_status)

    class ExecutionQueued(StatusChanged):
        pass

    class ExecutionStarted(StatusChanged):
        pass

    class ExecutionWaiting(StatusChanged):
        pass

    class ExecutionResumed(StatusChanged):
        pass

    class ExecutionBackingOff(StatusChanged):
        pass

    class ExecutionCompleted(StatusChanged):
        output: Any

    class ExecutionFailed(StatusChanged):
        error: dict[str, Any]

    class CancelRequested(StatusChanged):
        force_at: datetime

    class ExecutionCancelled(StatusChanged):
        stopped_steps: list[str]

    class ExecutionTimedOut(StatusChanged):
        stopped_steps: list[str]

    class ExecutionRetried(Aggregate.Event):
        new_execution_id: UUID
        from_step: str | None

    class ExecutionExpired(Aggregate.Event):
        def apply(self, aggregate: "Execution") -> None:
            aggregate.expired = True

    # -- events: steps ------------------------------------------------------------

    class StepDispatched(Aggregate.Event):
        step_id: str
        attempt: int
        queue: str
        run: dict[str, Any]
        priority: int
        output: str
        gates: list[dict[str, Any]]

        # Version 1, stored before workflows had priorities and output modes, is upcast.
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.update(priority=0, output="report", gates=[])

        def apply(self, aggregate: "Execution") -> None:
            aggregate.steps[self.step_id] = StepState(StepStatus.QUEUED, self.attempt)
            aggregate.gates = self.gates

    class StepSkipped(Aggregate.Event):
        step_id: str
        reason: str

        def apply(self, aggregate: "Execution") -> None:
            aggregate.steps[self.step_id].status = StepStatus.SKIPPED

    class ChildRequested(Aggregate.Event):
        step_id: str
        attempt: int
        child_id: UUID
        input: Any

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["input"] = None  # v1 children took the step's input as written

        def apply(self, aggregate: "Execution") -> None:
            aggregate.steps[self.step_id] = StepState(
                StepStatus.RUNNING, self.attempt, delivery=1, child_id=self.child_id
            )

    class StepStarted(Aggregate.Event):
        step_id: str
        attempt: int
        delivery: int
        worker: str
        started_at: datetime
        timeout_at: datetime | None

        def apply(self, aggregate: "Execution") -> None:
            state = aggregate.steps[self.step_id]
            state.status, state.delivery = StepStatus.RUNNING, self.delivery
            aggregate.has_started = True

    class StepSucceeded(Aggregate.Event):
        step_id: str
        attempt: int
        delivery: int
        worker: str | None
        started_at: datetime | None
        finished_at: datetime
        exit_code: int | None
        output: Any

        def apply(self, aggregate: "Execution") -> None:
            state = aggregate.steps[self.step_id]
            state.status, state.output, state.asking = StepStatus.SUCCEEDED, self.output, False

    class StepFailed(Aggregate.Event):
        step_id: str
        attempt: int
        delivery: int
        worker: str | None
        started_at: datetime | None
        finished_at: datetime
        exit_code: int | None
        error: str
        error_kind: str

        def apply(self, aggregate: "Execution") -> None:
            state = aggregate.steps[self.step_id]
            state.status, state.asking = StepStatus.FAILED, False

    class StepDeliveryLost(Aggregate.Event):
        step_id: str
        attempt: int
        delivery: int
        worker: str | None

    class StepRetryScheduled(Aggregate.Event):
        step_id: str
        attempt: int
        retry_at: datetime
        delay_s: float

        def apply(self, aggregate: "Execution") -> None:
            state = aggregate.steps[self.step_id]
            state.status, state.retry_at = StepStatus.PENDING, self.retry_at

    class StepStopRequested(Aggregate.Event):
        step_id: str
        attempt: int
        reason: str

    class StepCancelled(Aggregate.Event):
        step_id: str
        reason: str

        def apply(self, aggregate: "Execution") -> None:
            state = aggregate.steps[self.step_id]
            state.status, state.retry_at, state.asking = StepStatus.CANCELLED, None, False

    class StepReused(Aggregate.Event):
        step_id: str
        output: Any
        from_execution: UUID

        def apply(self, aggregate: "Execution") -> None:
            aggregate.steps[self.step_id] = StepState(StepStatus.SUCCEEDED, output=self.output)

    class StepProgressed(Aggregate.Event):
        step_id: str
        current: float
        max: float | None
        message: str

    class StepFactsRecorded(Aggregate.Event):
        step_id: str
        attempt: int
        facts: list[dict[str, Any]]

    class InputRequested(Aggregate.Event):
        step_id: str
        prompt: str
        input_schema: dict[str, Any] | None

        def apply(self, aggregate: "Execution") -> None:
            state = aggregate.steps[self.step_id]
            state.asking = state.status is StepStatus.RUNNING
            state.status = StepStatus.AWAITING_INPUT
            aggregate.questions[self.step_id] = self.input_schema

    class InputProvided(Aggregate.Event):
        step_id: str
        value: Any
        actor: str

        def apply(self, aggregate: "Execution") -> None:
            state = aggregate.steps[self.step_id]
            if state.asking:  # the running step gets its answer and goes on
                state.status, state.asking = StepStatus.RUNNING, False
            else:
                state.status, state.output = StepStatus.SUCCEEDED, self.value

    # -- commands -----------------------------------------------------------------

    def start(self, now: datetime, reused: dict[str, Any], from_execution: UUID | None) -> None:
        """Right after creation: take over reused successes, then run what is ready."""
        for step_id, output in reused.items():
            assert from_execution is not None
            self.trigger_event(
                self.StepReused, step_id=step_id, output=output, from_execution=from_execution
            )
        self.advance(now)

    def check_same_request(self, request_hash: str | None) -> None:
        if request_hash != self.request_hash:
            raise IdempotencyConflict(
                f"the idempotency key of execution {self.id} was used with another request"
            )

    def advance(self, now: datetime) -> None:
        """Start (or skip) every step whose needs are done, until none is left; then
        settle the status. A skip can make further steps ready, hence the loop."""
        if self.status.is_terminal or self.status is ExecutionStatus.CANCELLING:
            return
        progressed = True
        while progressed and not self.status.is_terminal:
            ready = [step for step in self.spec.steps if self._is_ready(step)]
            for step in ready:
                if not self.status.is_terminal:
                    self._start_or_skip(step, now)
            progressed = bool(ready)
        self._settle(now)

    def record_step_started(
        self, step_id: str, attempt: int, delivery: int, worker: str, started_at: datetime
    ) -> None:
        state = self.steps.get(step_id)
        if state is None or state.attempt != attempt:
            return  # a stale attempt: it was retried or never dispatched
        if state.status is StepStatus.RUNNING and delivery > state.delivery:
            # The bus gave the work to another runner: the one before is lost.
            self.trigger_event(
                self.StepDeliveryLost,
                step_id=step_id,
                attempt=attempt,
                delivery=state.delivery,
                worker=None,
            )
        elif state.status is not StepStatus.QUEUED:
            if state.status is StepStatus.CANCELLED:
                self._request_stop(step_id, attempt, "the step was cancelled")
            return
        timeout = self.spec.attempt_timeout(self.spec.step(step_id))
        self.trigger_event(
            self.StepStarted,
            step_id=step_id,
            attempt=attempt,
            delivery=delivery,
            worker=worker,
            started_at=started_at,
            timeout_at=started_at + timedelta(seconds=timeout) if timeout else None,
        )
        self._settle(started_at)

    def record_step_finished(
        self,
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
    ) -> None:
        state = self.steps.get(step_id)
        running = (StepStatus.QUEUED, StepStatus.RUNNING, StepStatus.AWAITING_INPUT)
        if state is None or state.attempt != attempt or state.status not in running:
            return
        if delivery < state.delivery:
            return  # a runner we gave up on finished after all: its successor decides
        if state.status is StepStatus.QUEUED or delivery > state.delivery:
            # A short step's runner sends no start report (and one can be lost with its
            # runner): the finish report says it all, a delivery lost before it included.
            self.record_step_started(step_id, attempt, delivery, worker, started_at)
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
            self.trigger_event(self.StepSucceeded, output=output, **facts)
            self.advance(now)
            return
        message = error or f"exited with code {exit_code}"
        self.trigger_event(self.StepFailed, error=message, error_kind=error_kind or "exit", **facts)
        self._after_failed_attempt(step_id, attempt, exit_code, message, error_kind or "exit", now)

    def record_progress(
        self, step_id: str, attempt: int, current: float, maximum: float | None, message: str
    ) -> None:
        state = self.steps.get(step_id)
        if state and state.attempt == attempt and state.status is StepStatus.RUNNING:
            self.trigger_event(
                self.StepProgressed, step_id=step_id, current=current, max=maximum, message=message
            )

    def record_facts(
        self, step_id: str, attempt: int, delivery: int, facts: list[dict[str, Any]]
    ) -> None:
        """Actions, screenshots, checkpoints and artifacts of the step's current delivery."""
        state = self.steps.get(step_id)
        if (
            state
            and facts
            and state.attempt == attempt
            and state.delivery == delivery
            and state.status in (StepStatus.RUNNING, StepStatus.AWAITING_INPUT)
        ):
            self.trigger_event(
                self.StepFactsRecorded, step_id=step_id, attempt=attempt, facts=facts
            )

    def ask(
        self,
        step_id: str,
        attempt: int,
        prompt: str,
        input_schema: dict[str, Any] | None,
        now: datetime,
    ) -> None:
        """A running step asks a question: the execution waits for the answer."""
        state = self.steps.get(step_id)
        if state and state.attempt == attempt and state.status is StepStatus.RUNNING:
            self.trigger_event(
                self.InputRequested, step_id=step_id, prompt=prompt, input_schema=input_schema
            )
            self._settle(now)

    def resume(self, step_id: str | None, value: Any, actor: str, now: datetime) -> None:
        waiting = [i for i, s in self.steps.items() if s.status is StepStatus.AWAITING_INPUT]
        if not waiting:
            raise IllegalTransition(
                f"execution {self.id} is {self.status.value}, not waiting for input"
            )
        if step_id is None:
            if len(waiting) > 1:
                raise InvalidInput(f"several steps wait for input ({', '.join(waiting)}): name one")
            step_id = waiting[0]
        if step_id not in waiting:
            raise IllegalTransition(f"step '{step_id}' is not waiting for input")
        self._check_answer(step_id, value)
        self.trigger_event(self.InputProvided, step_id=step_id, value=value, actor=actor)
        self.advance(now)

    def cancel(self, reason: str, actor: str, now: datetime) -> None:
        if self.status.is_terminal:
            raise IllegalTransition(
                f"execution {self.id} is {self.status.value}: there is nothing to cancel"
            )
        if self.status is ExecutionStatus.CANCELLING:
            raise IllegalTransition(f"execution {self.id} is already being cancelled")
        self._move(
            self.CancelRequested,
            ExecutionStatus.CANCELLING,
            reason or "cancel requested",
            actor,
            force_at=now + CANCEL_GRACE,
        )
        self.stopped_steps = self._stop_all(f"execution cancelled: {reason or 'by request'}")
        self._settle(now)

    def fire_timer(self, timer: str, now: datetime) -> None:
        kind, _, rest = timer.partition(":")
        if kind == "retry":
            step_id, attempt = rest.rsplit(":", 1)
            self._retry(step_id, int(attempt), now)
        elif kind == "attempt":
            step_id, attempt, delivery = rest.rsplit(":", 2)
            self._attempt_timed_out(step_id, int(attempt), int(delivery), now)
        elif kind == "overall":
            self._timed_out(now)
        elif kind == "cancel":
            self._force_cancelled(now)
        elif kind == "ttl" and self.status.is_terminal and not self.expired:
            self.trigger_event(self.ExecutionExpired)

    def child_finished(
        self, child_id: UUID, status: ExecutionStatus, output: Any, error: Any, now: datetime
    ) -> None:
        waiting = [
            (step_id, state)
            for step_id, state in self.steps.items()
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
            self.trigger_event(self.StepSucceeded, output=output, **facts)
            self.advance(now)
            return
        message = f"child execution {child_id} {status.value}"
        if isinstance(error, dict) and error.get("message"):
            message += f": {error['message']}"
        self.trigger_event(self.StepFailed, error=message, error_kind="exit", **facts)
        self._after_failed_attempt(step_id, state.attempt, None, message, "exit", now)

    def mark_retried(self, new_execution_id: UUID, from_step: str | None, now: datetime) -> None:
        self.trigger_event(
            self.ExecutionRetried, new_execution_id=new_execution_id, from_step=from_step
        )
        if not self.status.is_terminal and self.status is not ExecutionStatus.CANCELLING:
            self.cancel(f"retried as {new_execution_id}", SYSTEM, now)

    def reusable_outputs(self, from_step: str) -> dict[str, Any]:
        """Outputs of the steps that succeeded and do not depend on `from_step`."""
        if from_step not in self.steps:
            raise InvalidInput(f"execution {self.id} has no step '{from_step}'")
        downstream = self._downstream_of(from_step)
        return {
            step_id: state.output
            for step_id, state in self.steps.items()
            if state.status is StepStatus.SUCCEEDED and step_id not in downstream
        }

    # -- rules --------------------------------------------------------------------

    def _is_ready(self, step: StepSpec) -> bool:
        state = self.steps[step.id]
        return (
            state.status is StepStatus.PENDING
            and state.retry_at is None
            and all(self.steps[n].status in DONE for n in step.needs)
        )

    def _start_or_skip(self, step: StepSpec, now: datetime) -> None:
        """Skip the step if every need was skipped or its condition is false; else begin.

        A join with one skipped and one succeeded need runs: only a step that needs
        nothing but skipped steps is skipped (its `steps.<id>.output` is then null)."""
        needs = [self.steps[n].status for n in step.needs]
        rules = self._rules()
        try:
            if needs and all(s is StepStatus.SKIPPED for s in needs):
                reason: str | None = "every step it needs was skipped"
            else:
                reason = rules.skip_reason(step)
        except ExpressionError as exc:
            self._refuse_step(step.id, str(exc), now)
            return
        if reason is not None:
            self.trigger_event(self.StepSkipped, step_id=step.id, reason=reason)
        else:
            self._begin(step, self.steps[step.id].attempt + 1, now)

    def _rules(self) -> WorkflowRules:
        return WorkflowRules(self.spec, self.id, self.input, self.metadata, self.steps)

    def _refuse_step(self, step_id: str, message: str, now: datetime) -> None:
        """A condition or template failed: retrying would fail the same way."""
        self.trigger_event(
            self.StepFailed,
            step_id=step_id,
            attempt=self.steps[step_id].attempt,
            delivery=0,
            worker=None,
            started_at=None,
            finished_at=now,
            exit_code=None,
            error=message,
            error_kind="template",
        )
        self._fail(
            {"step_id": step_id, "exit_code": None, "message": message, "kind": "template"},
            f"step '{step_id}' failed: {message}",
            now,
        )

    def _begin(self, step: StepSpec, attempt: int, now: datetime) -> None:
        try:
            self._dispatch(step, attempt)
        except ExpressionError as exc:
            self._refuse_step(step.id, str(exc), now)

    def _dispatch(self, step: StepSpec, attempt: int) -> None:
        if step.type == "input":
            self.trigger_event(
                self.InputRequested,
                step_id=step.id,
                prompt=step.prompt or f"input for step '{step.id}'",
                input_schema=step.input_schema,
            )
        elif step.type == "child":
            self.trigger_event(
                self.ChildRequested,
                step_id=step.id,
                attempt=attempt,
                child_id=uuid.uuid5(self.id, f"{step.id}:{attempt}"),
                input=self._rules().child_input(step),
            )
        else:
            rules = self._rules()
            self.trigger_event(
                self.StepDispatched,
                step_id=step.id,
                attempt=attempt,
                queue=self.spec.queue(step),
                run=rules.run(step),
                priority=self.priority,
                output=step.output,
                gates=rules.gates(self.workflow_id),
            )

    def _after_failed_attempt(
        self,
        step_id: str,
        attempt: int,
        exit_code: int | None,
        message: str,
        kind: str,
        now: datetime,
    ) -> None:
        if self.status is ExecutionStatus.CANCELLING:
            self.trigger_event(self.StepCancelled, step_id=step_id, reason=f"stopped: {message}")
            self._settle(now)
            return
        if self.status.is_terminal:
            return  # a sibling finishing after the execution failed: a fact, nothing more
        policy = self.spec.retry_policy(self.spec.step(step_id))
        if policy.allows_retry(attempt, exit_code, kind):  # type: ignore[arg-type]
            delay = policy.backoff.delay(attempt, random.uniform(-1, 1))
            self.trigger_event(
                self.StepRetryScheduled,
                step_id=step_id,
                attempt=attempt + 1,
                retry_at=now + timedelta(seconds=delay),
                delay_s=delay,
            )
            self._settle(
                now, reason=f"step '{step_id}' failed ({message}); retrying in {delay:.1f}s"
            )
            return
        self._fail(
            {"step_id": step_id, "exit_code": exit_code, "message": message, "kind": kind},
            f"step '{step_id}' failed: {message}",
            now,
        )

    def _retry(self, step_id: str, attempt: int, now: datetime) -> None:
        state = self.steps.get(step_id)
        if state is None or state.retry_at is None or state.attempt != attempt - 1:
            return  # fired before (or the execution moved on): nothing to do
        self._begin(self.spec.step(step_id), attempt, now)
        self._settle(now, reason=f"retrying step '{step_id}' (attempt {attempt})")

    def _attempt_timed_out(self, step_id: str, attempt: int, delivery: int, now: datetime) -> None:
        state = self.steps.get(step_id)
        if not state or state.attempt != attempt or state.delivery != delivery:
            return
        if state.status not in (StepStatus.RUNNING, StepStatus.AWAITING_INPUT):
            return
        timeout = self.spec.attempt_timeout(self.spec.step(step_id))
        message = f"timed out after {timeout:g}s"
        self._request_stop(step_id, attempt, message)
        self.trigger_event(
            self.StepFailed,
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
        self._after_failed_attempt(step_id, attempt, None, message, "timeout", now)

    def _timed_out(self, now: datetime) -> None:
        if self.status.is_terminal:
            return
        overall = self.spec.timeout.overall or 0
        stopped = self._stop_all(f"execution timed out after {overall:g}s")
        self._move(
            self.ExecutionTimedOut,
            ExecutionStatus.TIMED_OUT,
            f"overall timeout of {overall:g}s",
            stopped_steps=stopped,
            expires_at=self._expiry(now),
        )

    def _force_cancelled(self, now: datetime) -> None:
        if self.status is not ExecutionStatus.CANCELLING:
            return
        for step_id, state in self.steps.items():
            if state.status is StepStatus.RUNNING:
                self.trigger_event(
                    self.StepCancelled, step_id=step_id, reason="did not stop in time"
                )
        self._settle(now)

    def _fail(self, error: dict[str, Any], reason: str, now: datetime) -> None:
        self._stop_all(f"execution failed: {reason}")
        self._move(
            self.ExecutionFailed,
            ExecutionStatus.FAILED,
            reason,
            error=error,
            expires_at=self._expiry(now),
        )

    def _stop_all(self, reason: str) -> list[str]:
        """Cancel what waits; ask runners to stop what runs. Returns the running steps."""
        running = []
        for step_id, state in self.steps.items():
            if state.status is StepStatus.RUNNING or (
                state.status is StepStatus.AWAITING_INPUT and state.asking
            ):
                running.append(step_id)
                self._request_stop(step_id, state.attempt, reason)
            elif state.status in WAITING_TO_RUN:
                if state.status is StepStatus.QUEUED:
                    self._request_stop(step_id, state.attempt, reason)
                self.trigger_event(self.StepCancelled, step_id=step_id, reason=reason)
        return running

    def _request_stop(self, step_id: str, attempt: int, reason: str) -> None:
        self.trigger_event(self.StepStopRequested, step_id=step_id, attempt=attempt, reason=reason)

    def _settle(self, now: datetime, reason: str = "") -> None:
        """Move the execution to the status its steps call for, if that is a change."""
        if self.status.is_terminal:
            return
        if self.status is ExecutionStatus.CANCELLING:
            if not any(s.status is StepStatus.RUNNING for s in self.steps.values()):
                self._move(
                    self.ExecutionCancelled,
                    ExecutionStatus.CANCELLED,
                    "every step stopped",
                    stopped_steps=self.stopped_steps,
                    expires_at=self._expiry(now),
                )
            return
        target = status_called_for(
            self.status, ((s.status, s.retry_at is not None) for s in self.steps.values())
        )
        if target is None or target is self.status:
            return
        if target is ExecutionStatus.COMPLETED:
            outputs = {i: s.output for i, s in self.steps.items() if s.output is not None}
            self._move(
                self.ExecutionCompleted,
                target,
                reason or "all steps succeeded",
                output=outputs or None,
                expires_at=self._expiry(now),
            )
            return
        event_class = {
            ExecutionStatus.QUEUED: self.ExecutionQueued,
            ExecutionStatus.AWAITING_INPUT: self.ExecutionWaiting,
            ExecutionStatus.BACKOFF: self.ExecutionBackingOff,
            ExecutionStatus.RUNNING: (
                self.ExecutionStarted
                if self.status in (ExecutionStatus.PENDING, ExecutionStatus.QUEUED)
                else self.ExecutionResumed
            ),
        }[target]
        if target is ExecutionStatus.QUEUED and not reason and self.gates:
            reason = "waiting for a runner and for " + ", ".join(
                f"{gate['name']} (at most {gate['max']} at once)" for gate in self.gates
            )
        self._move(event_class, target, reason or _default_reason(target), expires_at=None)

    def _move(
        self,
        event_class: type[StatusChanged],
        target: ExecutionStatus,
        reason: str,
        actor: str = SYSTEM,
        expires_at: datetime | None = None,
        **fields: Any,
    ) -> None:
        if not can_move(self.status, target):
            raise IllegalTransition(
                f"execution {self.id} cannot move from {self.status.value} to {target.value}"
            )
        self.trigger_event(
            event_class,
            from_status=self.status.value,
            to_status=target.value,
            transition=transition_type(self.status, target).value,
            reason=reason,
            actor=actor,
            expires_at=expires_at,
            **fields,
        )

    def _expiry(self, now: datetime) -> datetime | None:
        delete_after = self.spec.ttl.delete_after
        return now + timedelta(seconds=delete_after) if delete_after is not None else None

    def _check_answer(self, step_id: str, value: Any) -> None:
        schema = self.questions.get(step_id)
        if schema is None:
            return
        try:
            jsonschema.validate(value, schema)
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "input"
            raise InvalidInput(f"{where}: {exc.message}") from None

    def _downstream_of(self, step_id: str) -> set[str]:
        found = {step_id}
        changed = True
        while changed:
            changed = False
            for step in self.spec.steps:
                if step.id not in found and found.intersection(step.needs):
                    found.add(step.id)
                    changed = True
        return found


def _default_reason(target: ExecutionStatus) -> str:
    return {
        ExecutionStatus.QUEUED: "steps dispatched",
        ExecutionStatus.AWAITING_INPUT: "waiting for input",
        ExecutionStatus.BACKOFF: "waiting to retry",
        ExecutionStatus.RUNNING: "running",
    }[target]
