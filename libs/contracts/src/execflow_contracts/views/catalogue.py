"""Read models of the catalogue as the API returns them: registered workflows,
schedules and queue limits (see `base` for what every view shares)."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from ..definitions import CatchupPolicy
from ..specs import Concurrency, Defaults, ExecutionTimeout, StepSpec, Ttl
from .base import DocumentedAs, Number, View


class WorkflowSummary(View):
    """The latest version of a registered workflow, as listed."""

    id: str
    version: int
    description: str
    created_at: datetime


class WorkflowList(View):
    items: list[WorkflowSummary]


class WorkflowView(View):
    """A registered version: the definition as it was registered (fields it leaves
    empty are absent), with its version and when it was registered."""

    steps: list[Annotated[dict[str, Any], DocumentedAs(StepSpec)]]
    defaults: Annotated[dict[str, Any], DocumentedAs(Defaults)]
    timeout: Annotated[dict[str, Any], DocumentedAs(ExecutionTimeout)]
    ttl: Annotated[dict[str, Any], DocumentedAs(Ttl)]
    priority: int
    concurrency: Annotated[dict[str, Any], DocumentedAs(Concurrency)] | None = None
    max_running: int | None = None
    id: str
    description: str
    # The JSON Schema every execution's input must match.
    inputs: dict[str, Any] | None = None
    version: int
    created_at: datetime


class WorkflowRegistered(WorkflowView):
    # False: the same definition again, nothing changed (200, not 201).
    created: bool


class ScheduleView(View):
    id: UUID
    # Whose it is (it fires in its namespace); optional: a field added to the view.
    namespace: str | None = None
    workflow_id: str
    # Null: the latest version at each fire.
    version: int | None
    cron: str | None
    timezone: str
    input: Any
    metadata: dict[str, Any]
    priority: int | None
    catchup: CatchupPolicy
    paused: bool
    next_fire_at: datetime
    last_fired_at: datetime | None
    fires: int
    # Why the last fire did not start an execution, if it did not.
    last_error: str | None
    created_at: datetime
    # Seconds between fires, if not by `cron`.
    every: Number | None
    status: Literal["active", "paused"]


class ScheduleList(View):
    items: list[ScheduleView]


class QueueLimitView(View):
    queue: str
    # Steps of the queue that run at once; null: no limit.
    max_running: int | None


class QueueLimitList(View):
    items: list[QueueLimitView]
