"""Commands: imperative requests to the scheduler, the only writer of executions.

Evolve a command only by adding optional fields; `schema_version` says which
shape a stored or in-flight message has.
"""

from datetime import datetime
from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from .errors import WorkflowNotFound
from .facts import ARTIFACT_KEY, StepFact, artifact_key
from .json_values import BoundedJson, BoundedJsonObject
from .specs import StepId, WorkflowSpec


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: int = 1
    execution_id: UUID
    actor: str = "system"
    # The namespace of the API key that sent it: a create makes the execution there;
    # any other command is refused as "not found" by an execution of another namespace.
    # None: a service's own command (a runner's report, a timer), not checked.
    namespace: str | None = None

    @property
    def dedupe_id(self) -> str:
        """The `Nats-Msg-Id` that makes a re-sent command a no-op on the bus."""
        raise NotImplementedError


class CreateExecution(Command):
    """Create an execution of `workflow`, or of the workflow registered as `workflow_id`
    (its `workflow_version`, or the latest): the scheduler then looks it up, checks the
    input against its `inputs`, and refuses the command if it cannot."""

    type: Literal["CreateExecution"] = "CreateExecution"
    workflow: WorkflowSpec | None = None
    input: BoundedJson = None
    metadata: BoundedJsonObject = Field(default_factory=dict)
    # Set when the client sent an `Idempotency-Key`: a hash of what it asked for, and
    # an id per request so that every request reaches the scheduler for its verdict.
    request_hash: str | None = None
    request_id: str | None = None
    # Set for an execution of a registered workflow: which one it runs (a command that
    # leaves `workflow` out names it only by these).
    workflow_id: str | None = None
    workflow_version: int | None = None
    # Overrides the workflow's priority.
    priority: int | None = None

    @model_validator(mode="after")
    def _names_a_workflow(self) -> Self:
        if self.workflow is None and self.workflow_id is None:
            raise ValueError("give `workflow`, or the `workflow_id` of a registered one")
        return self

    @property
    def spec(self) -> WorkflowSpec:
        """The workflow it runs; WorkflowNotFound while a registered one's is unresolved."""
        if self.workflow is None:
            raise WorkflowNotFound(f"workflow '{self.workflow_id}' was not resolved")
        return self.workflow

    @property
    def dedupe_id(self) -> str:
        suffix = f":{self.request_id}" if self.request_id else ""
        return f"create:{self.execution_id}{suffix}"


class CancelExecution(Command):
    type: Literal["CancelExecution"] = "CancelExecution"
    reason: str = ""
    request_id: str

    @property
    def dedupe_id(self) -> str:
        return f"cancel:{self.execution_id}:{self.request_id}"


class ResumeExecution(Command):
    type: Literal["ResumeExecution"] = "ResumeExecution"
    step_id: StepId | None = None
    input: BoundedJson = None
    request_id: str

    @property
    def dedupe_id(self) -> str:
        return f"resume:{self.execution_id}:{self.request_id}"


class RetryExecution(Command):
    """Start `new_execution_id` from the same definition and input (cancelling the original
    if it still runs); with `from_step`, reuse what succeeded before that step."""

    type: Literal["RetryExecution"] = "RetryExecution"
    new_execution_id: UUID
    from_step: StepId | None = None

    @property
    def dedupe_id(self) -> str:
        return f"retry:{self.execution_id}:{self.new_execution_id}"


class FireTimer(Command):
    type: Literal["FireTimer"] = "FireTimer"
    timer: str
    due_at: datetime

    @property
    def dedupe_id(self) -> str:
        return f"timer:{self.execution_id}:{self.timer}"


class StepReport(Command):
    """What a runner says about one delivery of one attempt of a step."""

    step_id: StepId
    attempt: int
    # How many times the bus delivered this attempt's work: a higher number means the
    # runner that held it before was lost.
    delivery: int = 1
    worker: str


class ReportStepClaimed(StepReport):
    """The runner took the step's work and prepares it (its workspace, a container's
    image): an execution that waited for a runner is `starting`. Sent only when the
    preparation outlasts the runner's wait for the start; else the start report says it."""

    type: Literal["ReportStepClaimed"] = "ReportStepClaimed"
    claimed_at: datetime

    @property
    def dedupe_id(self) -> str:
        return f"claimed:{self.execution_id}:{self.step_id}:{self.attempt}:{self.delivery}"


class ReportStepStarted(StepReport):
    type: Literal["ReportStepStarted"] = "ReportStepStarted"
    started_at: datetime
    # When the runner took the work, if no claim report said so (see ReportStepClaimed).
    claimed_at: datetime | None = None

    @property
    def dedupe_id(self) -> str:
        return f"started:{self.execution_id}:{self.step_id}:{self.attempt}:{self.delivery}"


# What a process can exit with, or a remote agent claim: within the read models' integer.
ExitCode = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]


class ReportStepFinished(StepReport):
    type: Literal["ReportStepFinished"] = "ReportStepFinished"
    started_at: datetime
    finished_at: datetime
    exit_code: ExitCode | None
    error: str | None = None
    # "exit", "signal", "start", "exception" or "input"; see specs.ErrorKind.
    error_kind: str | None = None
    output: BoundedJson = None
    # A step short enough to send no start report: when the runner took its work.
    claimed_at: datetime | None = None

    @property
    def dedupe_id(self) -> str:
        return f"finished:{self.execution_id}:{self.step_id}:{self.attempt}:{self.delivery}"


class ReportStepProgress(StepReport):
    type: Literal["ReportStepProgress"] = "ReportStepProgress"
    current: float
    max: float | None = None
    message: str = ""
    sequence: int

    @property
    def dedupe_id(self) -> str:
        where = f"{self.execution_id}:{self.step_id}:{self.attempt}:{self.delivery}"
        return f"progress:{where}:{self.sequence}"


class ReportStepQuestion(StepReport):
    type: Literal["ReportStepQuestion"] = "ReportStepQuestion"
    prompt: str
    input_schema: BoundedJsonObject | None = None
    sequence: int

    @property
    def dedupe_id(self) -> str:
        where = f"{self.execution_id}:{self.step_id}:{self.attempt}:{self.delivery}"
        return f"question:{where}:{self.sequence}"


class ReportStepFacts(StepReport):
    """A batch of facts the step reported (the runner coalesces them)."""

    type: Literal["ReportStepFacts"] = "ReportStepFacts"
    facts: list[StepFact]
    sequence: int

    @model_validator(mode="after")
    def _own_artifacts(self) -> Self:
        # A key is where the API reads the artifact's file: a report may only name its
        # own step attempt's place in the store (a forged `../` key is refused here).
        own = artifact_key(self.execution_id, self.step_id, self.attempt, "")
        for fact in self.facts:
            if fact.key is not None and not (
                ARTIFACT_KEY.match(fact.key) and fact.key.startswith(own)
            ):
                raise ValueError(f"artifact {fact.name!r}: key {fact.key!r} is not under {own}")
        return self

    @property
    def dedupe_id(self) -> str:
        return (
            f"facts:{self.execution_id}:{self.step_id}:{self.attempt}:{self.delivery}"
            f":{self.sequence}"
        )


AnyCommand = Annotated[
    CreateExecution
    | CancelExecution
    | ResumeExecution
    | RetryExecution
    | FireTimer
    | ReportStepClaimed
    | ReportStepStarted
    | ReportStepFinished
    | ReportStepProgress
    | ReportStepQuestion
    | ReportStepFacts,
    Field(discriminator="type"),
]
COMMAND_ADAPTER: TypeAdapter[AnyCommand] = TypeAdapter(AnyCommand)


def parse_command(data: bytes) -> AnyCommand:
    return COMMAND_ADAPTER.validate_json(data)


class CommandOutcome(BaseModel):
    """The scheduler's answer to a command whose sender waits for it."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = 1
    accepted: bool
    code: str | None = None
    reason: str = ""
