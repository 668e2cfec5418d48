"""The Execution aggregate: the lifecycle rules, pure, no I/O.

Its domain events carry the names and fields of the public events in
`execflow_contracts.events`; the relay publishes them in that shape.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from execflow_contracts import (
    ExecutionStatus,
    IllegalTransition,
    StepSpec,
    StepStatus,
    WorkflowSpec,
)

from .lifecycle import can_move

SYSTEM = "scheduler"


@dataclass
class StepState:
    status: StepStatus = StepStatus.PENDING
    attempt: int = 0


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
    ) -> None:
        self.status = ExecutionStatus.PENDING
        self.spec = WorkflowSpec.model_validate(workflow)
        self.steps = {s.id: StepState() for s in self.spec.steps}

    # -- events ------------------------------------------------------------

    class StatusChanged(Aggregate.Event):
        from_status: str
        to_status: str
        reason: str
        actor: str

        def apply(self, aggregate: "Execution") -> None:
            aggregate.status = ExecutionStatus(self.to_status)

    class ExecutionQueued(StatusChanged):
        pass

    class ExecutionStarted(StatusChanged):
        pass

    class ExecutionCompleted(StatusChanged):
        output: Any

    class ExecutionFailed(StatusChanged):
        error: dict[str, Any]

    class StepDispatched(Aggregate.Event):
        step_id: str
        attempt: int
        queue: str
        run: dict[str, Any]

        def apply(self, aggregate: "Execution") -> None:
            aggregate.steps[self.step_id] = StepState(StepStatus.QUEUED, self.attempt)

    class StepStarted(Aggregate.Event):
        step_id: str
        attempt: int
        worker: str
        started_at: datetime

        def apply(self, aggregate: "Execution") -> None:
            aggregate.steps[self.step_id].status = StepStatus.RUNNING

    class StepSucceeded(Aggregate.Event):
        step_id: str
        attempt: int
        worker: str
        started_at: datetime
        finished_at: datetime
        exit_code: int | None

        def apply(self, aggregate: "Execution") -> None:
            aggregate.steps[self.step_id].status = StepStatus.SUCCEEDED

    class StepFailed(Aggregate.Event):
        step_id: str
        attempt: int
        worker: str
        started_at: datetime
        finished_at: datetime
        exit_code: int | None
        error: str

        def apply(self, aggregate: "Execution") -> None:
            aggregate.steps[self.step_id].status = StepStatus.FAILED

    class StepCancelled(Aggregate.Event):
        step_id: str
        reason: str

        def apply(self, aggregate: "Execution") -> None:
            aggregate.steps[self.step_id].status = StepStatus.CANCELLED

    # -- commands ----------------------------------------------------------

    def advance(self) -> None:
        """Dispatch every step whose needs have succeeded; complete when all are done."""
        if self.status.is_terminal:
            return
        ready = [s for s in self.spec.steps if self._is_ready(s)]
        if ready and self.status is ExecutionStatus.PENDING:
            self._move(self.ExecutionQueued, ExecutionStatus.QUEUED, "steps dispatched")
        for step in ready:
            self.trigger_event(
                self.StepDispatched,
                step_id=step.id,
                attempt=self.steps[step.id].attempt + 1,
                queue=step.queue,
                run=step.run.model_dump(mode="json"),
            )
        if all(s.status is StepStatus.SUCCEEDED for s in self.steps.values()):
            self._move(
                self.ExecutionCompleted,
                ExecutionStatus.COMPLETED,
                "all steps succeeded",
                output=None,
            )

    def record_step_started(
        self, step_id: str, attempt: int, worker: str, started_at: datetime
    ) -> None:
        if not self._is_current(step_id, attempt, {StepStatus.QUEUED}):
            return  # a duplicate or stale report: already recorded
        self.trigger_event(
            self.StepStarted, step_id=step_id, attempt=attempt, worker=worker, started_at=started_at
        )
        if self.status is ExecutionStatus.QUEUED:
            self._move(self.ExecutionStarted, ExecutionStatus.RUNNING, f"step '{step_id}' started")

    def record_step_finished(
        self,
        step_id: str,
        attempt: int,
        worker: str,
        started_at: datetime,
        finished_at: datetime,
        exit_code: int | None,
        error: str | None,
    ) -> None:
        if not self._is_current(step_id, attempt, {StepStatus.QUEUED, StepStatus.RUNNING}):
            return
        if self.steps[step_id].status is StepStatus.QUEUED:
            # The start report can be lost with its runner; the finish report says it all.
            self.record_step_started(step_id, attempt, worker, started_at)
        timing = {"worker": worker, "started_at": started_at, "finished_at": finished_at}
        if exit_code == 0 and error is None:
            self.trigger_event(
                self.StepSucceeded, step_id=step_id, attempt=attempt, exit_code=0, **timing
            )
            self.advance()
            return
        message = error or f"exited with code {exit_code}"
        self.trigger_event(
            self.StepFailed,
            step_id=step_id,
            attempt=attempt,
            exit_code=exit_code,
            error=message,
            **timing,
        )
        self._fail_because_of(step_id, exit_code, message)

    # -- rules -------------------------------------------------------------

    def _is_ready(self, step: StepSpec) -> bool:
        return self.steps[step.id].status is StepStatus.PENDING and all(
            self.steps[n].status is StepStatus.SUCCEEDED for n in step.needs
        )

    def _is_current(self, step_id: str, attempt: int, statuses: set[StepStatus]) -> bool:
        state = self.steps.get(step_id)
        return state is not None and state.attempt == attempt and state.status in statuses

    def _fail_because_of(self, step_id: str, exit_code: int | None, message: str) -> None:
        if self.status.is_terminal:
            return
        for other_id, state in self.steps.items():
            if state.status in (StepStatus.PENDING, StepStatus.QUEUED):
                self.trigger_event(
                    self.StepCancelled, step_id=other_id, reason=f"step '{step_id}' failed"
                )
        self._move(
            self.ExecutionFailed,
            ExecutionStatus.FAILED,
            f"step '{step_id}' failed: {message}",
            error={"step_id": step_id, "exit_code": exit_code, "message": message},
        )

    def _move(
        self,
        event_class: type[StatusChanged],
        target: ExecutionStatus,
        reason: str,
        actor: str = SYSTEM,
        **fields: Any,
    ) -> None:
        if not can_move(self.status, target):
            raise IllegalTransition(
                f"execution {self.id} cannot move from {self.status} to {target}"
            )
        self.trigger_event(
            event_class,
            from_status=self.status.value,
            to_status=target.value,
            reason=reason,
            actor=actor,
            **fields,
        )
