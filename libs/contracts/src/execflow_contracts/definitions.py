"""Registered workflows, their schedules and queue limits: the bodies the API accepts."""

from typing import Literal, Self

from pydantic import Field, model_validator

from .durations import Duration
from .json_values import BoundedJson, BoundedJsonObject
from .queues import QueueName
from .specs import RetryPolicy, Spec, StepTimeout, WorkflowId, WorkflowSpec

CatchupPolicy = Literal["skip", "once"]


class WorkflowDefinition(WorkflowSpec):
    """A workflow registered under an id; each change is a new version."""

    id: WorkflowId
    description: str = ""
    # A JSON Schema that every execution's input must match.
    inputs: BoundedJsonObject | None = None

    def spec(self) -> WorkflowSpec:
        """What an execution runs: the definition without its catalogue fields."""
        fields = self.model_dump(
            mode="json", by_alias=True, exclude={"id", "description", "inputs"}
        )
        return WorkflowSpec.model_validate(fields)


class ExecuteRequest(Spec):
    """Kinetic's `POST /api/v1/workflows/{id}/execute`."""

    input_payload: BoundedJson = Field(default=None, alias="inputPayload")
    version: int | None = Field(default=None, ge=1)
    metadata: BoundedJsonObject = Field(default_factory=dict)
    priority: int | None = Field(default=None, ge=-1000, le=1000)


class ScheduleRequest(Spec):
    """`POST /api/v1/schedules`: a cron expression in a time zone, or a fixed interval."""

    workflow_id: WorkflowId
    # None: the latest version at each fire.
    version: int | None = Field(default=None, ge=1)
    cron: str | None = None
    every: Duration | None = Field(default=None, gt=0)
    timezone: str = "UTC"
    input: BoundedJson = None
    metadata: BoundedJsonObject = Field(default_factory=dict)
    priority: int | None = Field(default=None, ge=-1000, le=1000)
    # What happens to fires missed while execflow was down: dropped, or run once.
    catchup: CatchupPolicy = "skip"

    @model_validator(mode="after")
    def _one_rhythm(self) -> Self:
        if (self.cron is None) == (self.every is None):
            raise ValueError("give either `cron` or `every`")
        return self


class QueueLimit(Spec):
    """`PUT /api/v1/queues/{queue}`: steps of the queue that run at once (None: no limit)."""

    max_running: int | None = Field(default=None, ge=1)


class FunctionCall(Spec):
    """`POST /api/v1/functions/{name}/execute`: one step that calls the function with
    `arguments` (or, if a workflow is registered under that name, that workflow with
    them as its input)."""

    arguments: BoundedJsonObject = Field(default_factory=dict)
    queue: QueueName | None = None
    retry: RetryPolicy | None = None
    timeout: StepTimeout | None = None
    metadata: BoundedJsonObject = Field(default_factory=dict)
    priority: int | None = Field(default=None, ge=-1000, le=1000)
