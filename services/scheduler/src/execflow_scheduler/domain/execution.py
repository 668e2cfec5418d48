"""The Execution aggregate: the lifecycle rules, pure, no I/O.

Its state and its commands live here; the rules they follow are in modules of their
own — `progression` (the graph), `attempts` (reports, retries, timeouts), `settling`
(the status and the endings) — and its events in `events`. Command methods take the
time (`now`) as an argument so that the rules stay pure.
"""

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
    StepStatus,
    can_move_step,
    stored_workflow,
)

from . import attempts, events, progression, settling
from .events import StepState

# How long cancelled steps get to stop before the execution is cancelled regardless.
CANCEL_GRACE = timedelta(seconds=60)


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
        namespace: str | None = None,
    ) -> None:
        self.status = ExecutionStatus.PENDING
        # Whose it is (None: made before namespaces, `default`'s); children and retries
        # are made in their parent's, or original's.
        self.namespace = namespace
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

    def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None:
        """As the library does it, and refused if it would move its step other than the
        step machine allows (checked as events are made, not as they are replayed)."""
        state = self.steps.get(kwargs["step_id"]) if "step_id" in kwargs else None
        before = state.status if state is not None else None
        super().trigger_event(event_class, **kwargs)
        if before is not None:
            after = self.steps[kwargs["step_id"]].status
            if not can_move_step(before, after):
                raise IllegalTransition(
                    f"{event_class.__name__}: step '{kwargs['step_id']}' of execution"
                    f" {self.id} cannot move from {before.value} to {after.value}"
                )

    # -- commands -----------------------------------------------------------------

    def start(self, now: datetime, reused: dict[str, Any], from_execution: UUID | None) -> None:
        """Right after creation: take over reused successes, then run what is ready."""
        for step_id, output in reused.items():
            assert from_execution is not None
            self.trigger_event(
                events.StepReused, step_id=step_id, output=output, from_execution=from_execution
            )
        self.advance(now)

    def check_same_request(self, request_hash: str | None) -> None:
        if request_hash != self.request_hash:
            raise IdempotencyConflict(
                f"the idempotency key of execution {self.id} was used with another request"
            )

    def advance(self, now: datetime) -> None:
        progression.advance(self, now)

    def record_step_claimed(self, step_id: str, attempt: int, worker: str) -> None:
        attempts.record_step_claimed(self, step_id, attempt, worker)

    def record_step_started(
        self,
        step_id: str,
        attempt: int,
        delivery: int,
        worker: str,
        started_at: datetime,
        claimed_at: datetime | None = None,
        now: datetime | None = None,
    ) -> None:
        attempts.record_step_started(
            self, step_id, attempt, delivery, worker, started_at, claimed_at, now=now
        )

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
        claimed_at: datetime | None = None,
    ) -> None:
        attempts.record_step_finished(
            self,
            step_id,
            attempt,
            delivery,
            worker,
            started_at,
            finished_at,
            exit_code,
            error,
            error_kind,
            output,
            now,
            claimed_at,
        )

    def record_progress(
        self, step_id: str, attempt: int, current: float, maximum: float | None, message: str
    ) -> None:
        attempts.record_progress(self, step_id, attempt, current, maximum, message)

    def record_facts(
        self,
        step_id: str,
        attempt: int,
        delivery: int,
        facts: list[dict[str, Any]],
        sequence: int | None = None,
    ) -> None:
        attempts.record_facts(self, step_id, attempt, delivery, facts, sequence)

    def ask(
        self,
        step_id: str,
        attempt: int,
        prompt: str,
        input_schema: dict[str, Any] | None,
        now: datetime,
    ) -> None:
        attempts.ask(self, step_id, attempt, prompt, input_schema, now)

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
        self.trigger_event(events.InputProvided, step_id=step_id, value=value, actor=actor)
        self.advance(now)

    def cancel(self, reason: str, actor: str, now: datetime) -> None:
        if self.status.is_terminal:
            raise IllegalTransition(
                f"execution {self.id} is {self.status.value}: there is nothing to cancel"
            )
        if self.status is ExecutionStatus.CANCELLING:
            raise IllegalTransition(f"execution {self.id} is already being cancelled")
        settling.move(
            self,
            events.CancelRequested,
            ExecutionStatus.CANCELLING,
            reason or "cancel requested",
            actor,
            force_at=now + CANCEL_GRACE,
        )
        self.stopped_steps = settling.stop_all(
            self, f"execution cancelled: {reason or 'by request'}"
        )
        settling.settle(self, now)

    def fire_timer(self, timer: str, now: datetime) -> None:
        """A durable timer is due (see the scheduler's `timers`); one that no longer
        matters (the attempt moved on, the execution ended) does nothing."""
        kind, _, rest = timer.partition(":")
        if kind == "retry":
            step_id, attempt = rest.rsplit(":", 1)
            attempts.retry(self, step_id, int(attempt), now)
        elif kind == "attempt":
            step_id, attempt, delivery = rest.rsplit(":", 2)
            attempts.attempt_timed_out(self, step_id, int(attempt), int(delivery), now)
        elif kind == "overall":
            settling.timed_out(self, now)
        elif kind == "cancel":
            settling.force_cancelled(self, now)
        elif kind == "ttl" and self.status.is_terminal and not self.expired:
            self.trigger_event(events.ExecutionExpired)

    def child_finished(
        self, child_id: UUID, status: ExecutionStatus, output: Any, error: Any, now: datetime
    ) -> None:
        attempts.child_finished(self, child_id, status, output, error, now)

    def mark_retried(self, new_execution_id: UUID, from_step: str | None, now: datetime) -> None:
        self.trigger_event(
            events.ExecutionRetried, new_execution_id=new_execution_id, from_step=from_step
        )
        if not self.status.is_terminal and self.status is not ExecutionStatus.CANCELLING:
            self.cancel(f"retried as {new_execution_id}", settling.SYSTEM, now)

    def reusable_outputs(self, from_step: str) -> dict[str, Any]:
        return progression.reusable_outputs(self, from_step)

    def _check_answer(self, step_id: str, value: Any) -> None:
        schema = self.questions.get(step_id)
        if schema is None:
            return
        try:
            jsonschema.validate(value, schema)
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "input"
            raise InvalidInput(f"{where}: {exc.message}") from None
