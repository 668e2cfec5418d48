"""Commands: imperative requests to the scheduler, the only writer of executions.

Evolve a command only by adding optional fields; `schema_version` says which
shape a stored or in-flight message has.
"""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from .specs import StepId, WorkflowSpec


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: int = 1
    execution_id: UUID
    actor: str = "system"

    @property
    def dedupe_id(self) -> str:
        """The `Nats-Msg-Id` that makes a re-sent command a no-op on the bus."""
        raise NotImplementedError


class CreateExecution(Command):
    type: Literal["CreateExecution"] = "CreateExecution"
    workflow: WorkflowSpec
    input: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def dedupe_id(self) -> str:
        return f"create:{self.execution_id}"


class ReportStepStarted(Command):
    type: Literal["ReportStepStarted"] = "ReportStepStarted"
    step_id: StepId
    attempt: int
    worker: str
    started_at: datetime

    @property
    def dedupe_id(self) -> str:
        return f"started:{self.execution_id}:{self.step_id}:{self.attempt}"


class ReportStepFinished(Command):
    type: Literal["ReportStepFinished"] = "ReportStepFinished"
    step_id: StepId
    attempt: int
    worker: str
    started_at: datetime
    finished_at: datetime
    exit_code: int | None
    error: str | None = None

    @property
    def dedupe_id(self) -> str:
        return f"finished:{self.execution_id}:{self.step_id}:{self.attempt}"


AnyCommand = Annotated[
    CreateExecution | ReportStepStarted | ReportStepFinished,
    Field(discriminator="type"),
]
COMMAND_ADAPTER: TypeAdapter[AnyCommand] = TypeAdapter(AnyCommand)


def parse_command(data: bytes) -> AnyCommand:
    return COMMAND_ADAPTER.validate_json(data)
