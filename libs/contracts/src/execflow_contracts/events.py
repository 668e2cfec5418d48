"""Events: past-tense facts about an execution, as published on the bus.

The scheduler's aggregate emits domain events of the same names and fields;
these models are their public, versioned shape. Evolve them only by adding
optional fields.
"""

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from .specs import QueueName, RunSpec, StepId, WorkflowSpec
from .statuses import ExecutionStatus, TransitionType


class ExecutionEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: int = 1
    execution_id: UUID
    version: int
    at: datetime

    @property
    def dedupe_id(self) -> str:
        """Identity of the stored event: the same on every re-publish."""
        return f"{self.execution_id}:{self.version}"


class StatusChanged(ExecutionEvent):
    """An event that moves the execution from one status to another."""

    transition: ClassVar[TransitionType]
    from_status: ExecutionStatus
    to_status: ExecutionStatus
    reason: str = ""
    actor: str = "system"


class ExecutionCreated(ExecutionEvent):
    type: Literal["ExecutionCreated"] = "ExecutionCreated"
    workflow: WorkflowSpec
    input: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    actor: str = "system"


class ExecutionQueued(StatusChanged):
    transition = TransitionType.QUEUE
    type: Literal["ExecutionQueued"] = "ExecutionQueued"


class ExecutionStarted(StatusChanged):
    transition = TransitionType.START
    type: Literal["ExecutionStarted"] = "ExecutionStarted"


class ExecutionCompleted(StatusChanged):
    transition = TransitionType.FINISH
    type: Literal["ExecutionCompleted"] = "ExecutionCompleted"
    output: Any = None


class ExecutionFailed(StatusChanged):
    transition = TransitionType.ERROR
    type: Literal["ExecutionFailed"] = "ExecutionFailed"
    error: dict[str, Any]


class StepDispatched(ExecutionEvent):
    type: Literal["StepDispatched"] = "StepDispatched"
    step_id: StepId
    attempt: int
    queue: QueueName
    run: RunSpec


class StepStarted(ExecutionEvent):
    type: Literal["StepStarted"] = "StepStarted"
    step_id: StepId
    attempt: int
    worker: str
    started_at: datetime


class StepSucceeded(ExecutionEvent):
    type: Literal["StepSucceeded"] = "StepSucceeded"
    step_id: StepId
    attempt: int
    worker: str
    started_at: datetime
    finished_at: datetime
    exit_code: int | None = 0


class StepFailed(ExecutionEvent):
    type: Literal["StepFailed"] = "StepFailed"
    step_id: StepId
    attempt: int
    worker: str
    started_at: datetime
    finished_at: datetime
    exit_code: int | None
    error: str


class StepCancelled(ExecutionEvent):
    """A step that will never run (or never finish) in this execution."""

    type: Literal["StepCancelled"] = "StepCancelled"
    step_id: StepId
    reason: str


AnyEvent = Annotated[
    ExecutionCreated
    | ExecutionQueued
    | ExecutionStarted
    | ExecutionCompleted
    | ExecutionFailed
    | StepDispatched
    | StepStarted
    | StepSucceeded
    | StepFailed
    | StepCancelled,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)
EVENT_TYPES: dict[str, type[ExecutionEvent]] = {
    cls.model_fields["type"].default: cls
    for cls in (
        ExecutionCreated,
        ExecutionQueued,
        ExecutionStarted,
        ExecutionCompleted,
        ExecutionFailed,
        StepDispatched,
        StepStarted,
        StepSucceeded,
        StepFailed,
        StepCancelled,
    )
}


def parse_event(data: bytes) -> AnyEvent:
    return EVENT_ADAPTER.validate_json(data)
