"""Events: past-tense facts about an execution, as published on the bus.

The scheduler's aggregate emits domain events of the same names and fields;
these models are their public, versioned shape. Evolve them only by adding
optional fields.
"""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter

from .queues import QueueName, queue_key
from .specs import OutputMode, RunSpec, StepId, WorkflowSpec, stored_workflow
from .statuses import ExecutionStatus, TransitionType


class Gate(BaseModel):
    """A concurrency limit shared by executions: at most `max` of them hold `name` at once."""

    model_config = ConfigDict(frozen=True)

    name: str
    max: int


class ExecutionEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: int = 1
    execution_id: UUID
    version: int
    at: datetime
    # The W3C trace context of the span whose command caused the event, stored with it
    # so that whatever the event causes later (a dispatch, a timer, a retry) continues
    # the same trace. Absent when tracing was off; left out of the JSON then.
    traceparent: str | None = Field(default=None, exclude_if=lambda value: value is None)

    @property
    def dedupe_id(self) -> str:
        """Identity of the stored event: the same on every re-publish."""
        return f"{self.execution_id}:{self.version}"


def _shared_workflow(value: Any) -> Any:
    # Stored workflows were checked when they were created; executions of one workflow
    # share its parsed spec (see `stored_workflow`).
    return stored_workflow(value) if isinstance(value, dict) else value


class ExecutionCreated(ExecutionEvent):
    type: Literal["ExecutionCreated"] = "ExecutionCreated"
    workflow: Annotated[WorkflowSpec, BeforeValidator(_shared_workflow)]
    input: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    actor: str = "system"
    retry_of: UUID | None = None
    parent_id: UUID | None = None
    parent_step: StepId | None = None
    request_hash: str | None = None
    # When the overall timeout strikes, if there is one.
    timeout_at: datetime | None = None
    workflow_id: str | None = None
    workflow_version: int | None = None
    priority: int | None = None
    # Whose execution it is (None: made before namespaces, `default`'s).
    namespace: str | None = None


class StatusChanged(ExecutionEvent):
    """An event that moves the execution from one status to another: a transition."""

    from_status: ExecutionStatus
    to_status: ExecutionStatus
    transition: TransitionType
    reason: str = ""
    actor: str = "system"
    # On entering a final status: when the read models forget it (`ttl.delete_after`).
    expires_at: datetime | None = None


class ExecutionQueued(StatusChanged):
    type: Literal["ExecutionQueued"] = "ExecutionQueued"


class ExecutionStarting(StatusChanged):
    """A runner took the first work of an execution that waited for one."""

    type: Literal["ExecutionStarting"] = "ExecutionStarting"


class ExecutionStarted(StatusChanged):
    type: Literal["ExecutionStarted"] = "ExecutionStarted"
    # When its first step started (never later than `at`, when it was stored); None in
    # events stored before it was recorded. `started` says which to go by.
    started_at: datetime | None = None

    @property
    def started(self) -> datetime:
        return self.started_at if self.started_at is not None else self.at


class ExecutionWaiting(StatusChanged):
    type: Literal["ExecutionWaiting"] = "ExecutionWaiting"


class ExecutionResumed(StatusChanged):
    type: Literal["ExecutionResumed"] = "ExecutionResumed"


class ExecutionBackingOff(StatusChanged):
    type: Literal["ExecutionBackingOff"] = "ExecutionBackingOff"


class ExecutionCompleted(StatusChanged):
    type: Literal["ExecutionCompleted"] = "ExecutionCompleted"
    output: Any = None


class ExecutionFailed(StatusChanged):
    type: Literal["ExecutionFailed"] = "ExecutionFailed"
    error: dict[str, Any]


class CancelRequested(StatusChanged):
    type: Literal["CancelRequested"] = "CancelRequested"
    # If the running steps have not stopped by then, the execution is cancelled anyway.
    force_at: datetime | None = None


class ExecutionCancelled(StatusChanged):
    type: Literal["ExecutionCancelled"] = "ExecutionCancelled"
    stopped_steps: list[StepId] = Field(default_factory=list)


class ExecutionTimedOut(StatusChanged):
    type: Literal["ExecutionTimedOut"] = "ExecutionTimedOut"
    stopped_steps: list[StepId] = Field(default_factory=list)


class ExecutionRetried(ExecutionEvent):
    """A new execution was started from this one (`retried_by`)."""

    type: Literal["ExecutionRetried"] = "ExecutionRetried"
    new_execution_id: UUID
    from_step: StepId | None = None


class ExecutionExpired(ExecutionEvent):
    """The execution's time to live is over: read models, runners and the artifact store
    drop what they hold of it; then the scheduler deletes its events from the event store
    and its messages from the streams (this one excepted: it says nothing but the id)."""

    type: Literal["ExecutionExpired"] = "ExecutionExpired"


class StepDispatched(ExecutionEvent):
    type: Literal["StepDispatched"] = "StepDispatched"
    step_id: StepId
    attempt: int
    queue: QueueName
    run: RunSpec
    # Which work waits longer for a queue slot: the higher priority goes first.
    priority: int = 0
    output: OutputMode = "report"
    # Concurrency limits the execution holds a place in while it runs.
    gates: list[Gate] = Field(default_factory=list)
    # The registered workflow the execution runs, if it runs one.
    workflow_id: str | None = None
    # Whose execution it is (None: `default`'s): its step's secrets are that namespace's,
    # and so is its queue.
    namespace: str | None = None

    @property
    def queue_key(self) -> str:
        """Its queue as the bus and the queue limits name it (see `queues`)."""
        return queue_key(self.namespace, self.queue)


class StepStarted(ExecutionEvent):
    type: Literal["StepStarted"] = "StepStarted"
    step_id: StepId
    attempt: int
    delivery: int = 1
    worker: str
    started_at: datetime
    # When the attempt timeout strikes, if there is one.
    timeout_at: datetime | None = None


class StepSucceeded(ExecutionEvent):
    type: Literal["StepSucceeded"] = "StepSucceeded"
    step_id: StepId
    attempt: int
    delivery: int = 1
    worker: str | None = None
    started_at: datetime | None = None
    finished_at: datetime
    exit_code: int | None = 0
    output: Any = None


class StepFailed(ExecutionEvent):
    type: Literal["StepFailed"] = "StepFailed"
    step_id: StepId
    attempt: int
    delivery: int = 1
    worker: str | None = None
    started_at: datetime | None = None
    finished_at: datetime
    exit_code: int | None
    error: str
    error_kind: str = "exit"


class StepDeliveryLost(ExecutionEvent):
    """The runner holding this attempt went silent; another runner took it over."""

    type: Literal["StepDeliveryLost"] = "StepDeliveryLost"
    step_id: StepId
    attempt: int
    delivery: int
    worker: str | None = None


class StepRetryScheduled(ExecutionEvent):
    type: Literal["StepRetryScheduled"] = "StepRetryScheduled"
    step_id: StepId
    attempt: int  # the attempt that will run
    retry_at: datetime
    delay_s: float


class StepStopRequested(ExecutionEvent):
    """Runners stop this attempt if they hold it, or never start it."""

    type: Literal["StepStopRequested"] = "StepStopRequested"
    step_id: StepId
    attempt: int
    reason: str


class StepSkipped(ExecutionEvent):
    """A step that will not run: its condition is false, or every step it needs was skipped."""

    type: Literal["StepSkipped"] = "StepSkipped"
    step_id: StepId
    reason: str


class StepCancelled(ExecutionEvent):
    """A step that will never run (or never finish) in this execution."""

    type: Literal["StepCancelled"] = "StepCancelled"
    step_id: StepId
    reason: str


class StepReused(ExecutionEvent):
    """A retry reuses this step's success from the execution it retries."""

    type: Literal["StepReused"] = "StepReused"
    step_id: StepId
    output: Any = None
    from_execution: UUID


class StepProgressed(ExecutionEvent):
    type: Literal["StepProgressed"] = "StepProgressed"
    step_id: StepId
    current: float
    max: float | None = None
    message: str = ""


class StepFactsRecorded(ExecutionEvent):
    """Facts of a running step: see `facts.StepFact` (as JSON objects)."""

    type: Literal["StepFactsRecorded"] = "StepFactsRecorded"
    step_id: StepId
    attempt: int
    facts: list[dict[str, Any]]
    # The report's number within its delivery (None before repeats were checked).
    sequence: int | None = None


class InputRequested(ExecutionEvent):
    type: Literal["InputRequested"] = "InputRequested"
    step_id: StepId
    prompt: str
    input_schema: dict[str, Any] | None = None


class InputProvided(ExecutionEvent):
    type: Literal["InputProvided"] = "InputProvided"
    step_id: StepId
    value: Any = None
    actor: str = "system"


class ChildRequested(ExecutionEvent):
    type: Literal["ChildRequested"] = "ChildRequested"
    step_id: StepId
    attempt: int
    child_id: UUID
    # The child's input, as the step's template rendered it (None from before v2).
    input: Any = None


EVENT_CLASSES: tuple[type[ExecutionEvent], ...] = (
    ExecutionCreated,
    ExecutionQueued,
    ExecutionStarting,
    ExecutionStarted,
    ExecutionWaiting,
    ExecutionResumed,
    ExecutionBackingOff,
    ExecutionCompleted,
    ExecutionFailed,
    CancelRequested,
    ExecutionCancelled,
    ExecutionTimedOut,
    ExecutionRetried,
    ExecutionExpired,
    StepDispatched,
    StepStarted,
    StepSucceeded,
    StepFailed,
    StepDeliveryLost,
    StepRetryScheduled,
    StepStopRequested,
    StepCancelled,
    StepSkipped,
    StepReused,
    StepProgressed,
    StepFactsRecorded,
    InputRequested,
    InputProvided,
    ChildRequested,
)
AnyEvent = Annotated[
    ExecutionCreated
    | ExecutionQueued
    | ExecutionStarting
    | ExecutionStarted
    | ExecutionWaiting
    | ExecutionResumed
    | ExecutionBackingOff
    | ExecutionCompleted
    | ExecutionFailed
    | CancelRequested
    | ExecutionCancelled
    | ExecutionTimedOut
    | ExecutionRetried
    | ExecutionExpired
    | StepDispatched
    | StepStarted
    | StepSucceeded
    | StepFailed
    | StepDeliveryLost
    | StepRetryScheduled
    | StepStopRequested
    | StepCancelled
    | StepSkipped
    | StepReused
    | StepProgressed
    | StepFactsRecorded
    | InputRequested
    | InputProvided
    | ChildRequested,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)
EVENT_TYPES: dict[str, type[ExecutionEvent]] = {
    cls.model_fields["type"].default: cls for cls in EVENT_CLASSES
}


def parse_event(data: bytes) -> AnyEvent:
    return EVENT_ADAPTER.validate_json(data)
