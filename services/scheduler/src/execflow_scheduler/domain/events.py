"""The Execution aggregate's events: past-tense facts, with what each changes.

Their names and fields are the public events' (`execflow_contracts.events`), which the
relay publishes (a test holds them equal). They were once classes inside the aggregate:
events stored then name those old topics, registered here so that they still load.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import register_topic

from execflow_contracts import STEP_STATUS_AFTER, ExecutionStatus, StepStatus

if TYPE_CHECKING:
    from .execution import Execution


def after(event: Aggregate.Event) -> StepStatus:
    """The status the event leaves its step in (the contracts' step machine)."""
    return STEP_STATUS_AFTER[type(event).__name__]


@dataclass
class StepState:
    status: StepStatus = StepStatus.PENDING
    attempt: int = 0  # the latest dispatched attempt
    delivery: int = 0  # which delivery of that attempt runs now
    retry_at: datetime | None = None  # set while waiting to retry
    output: Any = None
    child_id: UUID | None = None
    asking: bool = False  # a running step that asked a question
    # The numbers of the fact reports of the current delivery already recorded.
    reported: set[int] = field(default_factory=set)


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


class ExecutionStarting(StatusChanged):
    """A runner took the first work of an execution that waited for one."""


class ExecutionStarted(StatusChanged):
    # When its first step started (the runner's time, never later than the scheduler's
    # when it heard): the execution started then, not when the report was applied.
    # None in events stored before it was recorded.
    started_at: datetime | None = None


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


class StepDispatched(Aggregate.Event):
    step_id: str
    attempt: int
    queue: str
    run: dict[str, Any]
    priority: int
    output: str
    gates: list[dict[str, Any]]
    workflow_id: str | None
    namespace: str | None

    # Version 1, stored before workflows had priorities and output modes, version 2,
    # before the work named its workflow (for metrics by workflow), and version 3, before
    # it named its namespace (whose secrets the step may have), are upcast.
    class_version = 4

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state.update(priority=0, output="report", gates=[])

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        state["workflow_id"] = None

    @staticmethod
    def upcast_v3_v4(state: dict[str, Any]) -> None:
        state["namespace"] = None  # made before namespaces: `default`'s

    def apply(self, aggregate: "Execution") -> None:
        aggregate.steps[self.step_id] = StepState(after(self), self.attempt)
        aggregate.gates = self.gates


class StepSkipped(Aggregate.Event):
    step_id: str
    reason: str

    def apply(self, aggregate: "Execution") -> None:
        aggregate.steps[self.step_id].status = after(self)


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
            after(self), self.attempt, delivery=1, child_id=self.child_id
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
        if self.delivery != state.delivery:
            state.reported = set()  # a new delivery numbers its reports from 1
        state.status, state.delivery = after(self), self.delivery
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
        state.status, state.output, state.asking = after(self), self.output, False


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
        state.status, state.asking = after(self), False


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
        state.status, state.retry_at = after(self), self.retry_at


class StepStopRequested(Aggregate.Event):
    step_id: str
    attempt: int
    reason: str


class StepCancelled(Aggregate.Event):
    step_id: str
    reason: str

    def apply(self, aggregate: "Execution") -> None:
        state = aggregate.steps[self.step_id]
        state.status, state.retry_at, state.asking = after(self), None, False


class StepReused(Aggregate.Event):
    step_id: str
    output: Any
    from_execution: UUID

    def apply(self, aggregate: "Execution") -> None:
        aggregate.steps[self.step_id] = StepState(after(self), output=self.output)


class StepProgressed(Aggregate.Event):
    step_id: str
    current: float
    max: float | None
    message: str


class StepFactsRecorded(Aggregate.Event):
    step_id: str
    attempt: int
    facts: list[dict[str, Any]]
    # The report's number within its delivery: a report delivered again (its batch was
    # handed back after it was saved) is recognised, and its facts not counted twice.
    sequence: int | None

    # Version 1, stored before reports were checked for repeats, is upcast.
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["sequence"] = None

    def apply(self, aggregate: "Execution") -> None:
        if self.sequence is not None:
            aggregate.steps[self.step_id].reported.add(self.sequence)


class InputRequested(Aggregate.Event):
    step_id: str
    prompt: str
    input_schema: dict[str, Any] | None

    def apply(self, aggregate: "Execution") -> None:
        state = aggregate.steps[self.step_id]
        state.asking = state.status is StepStatus.RUNNING
        state.status = after(self)
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


# Where these classes were before they had a module of their own: events stored then
# name these topics.
OLD_TOPICS = {
    "execflow_scheduler.domain.execution:Execution.StatusChanged": StatusChanged,
    "execflow_scheduler.domain.execution:Execution.ExecutionQueued": ExecutionQueued,
    "execflow_scheduler.domain.execution:Execution.ExecutionStarted": ExecutionStarted,
    "execflow_scheduler.domain.execution:Execution.ExecutionWaiting": ExecutionWaiting,
    "execflow_scheduler.domain.execution:Execution.ExecutionResumed": ExecutionResumed,
    "execflow_scheduler.domain.execution:Execution.ExecutionBackingOff": ExecutionBackingOff,
    "execflow_scheduler.domain.execution:Execution.ExecutionCompleted": ExecutionCompleted,
    "execflow_scheduler.domain.execution:Execution.ExecutionFailed": ExecutionFailed,
    "execflow_scheduler.domain.execution:Execution.CancelRequested": CancelRequested,
    "execflow_scheduler.domain.execution:Execution.ExecutionCancelled": ExecutionCancelled,
    "execflow_scheduler.domain.execution:Execution.ExecutionTimedOut": ExecutionTimedOut,
    "execflow_scheduler.domain.execution:Execution.ExecutionRetried": ExecutionRetried,
    "execflow_scheduler.domain.execution:Execution.ExecutionExpired": ExecutionExpired,
    "execflow_scheduler.domain.execution:Execution.StepDispatched": StepDispatched,
    "execflow_scheduler.domain.execution:Execution.StepSkipped": StepSkipped,
    "execflow_scheduler.domain.execution:Execution.ChildRequested": ChildRequested,
    "execflow_scheduler.domain.execution:Execution.StepStarted": StepStarted,
    "execflow_scheduler.domain.execution:Execution.StepSucceeded": StepSucceeded,
    "execflow_scheduler.domain.execution:Execution.StepFailed": StepFailed,
    "execflow_scheduler.domain.execution:Execution.StepDeliveryLost": StepDeliveryLost,
    "execflow_scheduler.domain.execution:Execution.StepRetryScheduled": StepRetryScheduled,
    "execflow_scheduler.domain.execution:Execution.StepStopRequested": StepStopRequested,
    "execflow_scheduler.domain.execution:Execution.StepCancelled": StepCancelled,
    "execflow_scheduler.domain.execution:Execution.StepReused": StepReused,
    "execflow_scheduler.domain.execution:Execution.StepProgressed": StepProgressed,
    "execflow_scheduler.domain.execution:Execution.StepFactsRecorded": StepFactsRecorded,
    "execflow_scheduler.domain.execution:Execution.InputRequested": InputRequested,
    "execflow_scheduler.domain.execution:Execution.InputProvided": InputProvided,
}


def _register_old_topics() -> None:
    for topic, event_class in OLD_TOPICS.items():
        register_topic(topic, event_class)


_register_old_topics()
