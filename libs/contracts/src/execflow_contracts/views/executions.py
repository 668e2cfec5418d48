"""Views of an execution: the execution, its summary, steps, attempts, transitions, log
lines, history and artifacts, and the answers to commands on it."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field

from ..events import AnyEvent
from ..specs import WorkflowSpec
from ..statuses import ExecutionStatus, StepStatus, TransitionType
from .base import DocumentedAs, IsoTime, Number, View

StoredWorkflow = Annotated[dict[str, Any], DocumentedAs(WorkflowSpec)]
StoredEvent = Annotated[dict[str, Any], DocumentedAs(AnyEvent)]


class ExecutionLinks(View):
    self_: str = Field(alias="self")
    transitions: str
    logs: str
    history: str
    events: str
    artifacts: str


# Views of objects the read models hold as JSON (jsonb) declare their fields in the
# order PostgreSQL gives them back: shorter keys first.


class ExecutionError(View):
    """Why an execution failed: the step, its exit code, the reason and its kind
    (`exit`, `signal`, `start`, `timeout`, `lost`, `template`, …)."""

    kind: str | None = None
    message: str | None = None
    step_id: str | None = None
    exit_code: int | None = None


class Progress(View):
    """What a step last reported of its progress (`step_id`: the execution's, which step)."""

    max: Number | None = None
    current: Number
    message: str = ""
    step_id: str | None = None


class Checkpoint(View):
    at: datetime | None = None
    name: str
    step_id: str


class ArtifactView(View):
    """A file a step declared: `stored` (with its `url`), `refused` (with the `error`),
    or not stored yet (`status` null)."""

    at: datetime | None = None
    kind: str
    name: str
    path: str | None = None
    size: int | None = None
    error: str | None = None
    status: str | None = None
    step_id: str
    url: str | None = None


class ArtifactList(View):
    items: list[ArtifactView]


class StepView(View):
    id: str
    status: StepStatus
    needs: list[str]
    queue: str
    attempts: int
    worker: str | None
    exit_code: int | None
    error: str | None
    message: str
    started_at: datetime | None
    finished_at: datetime | None
    output: Any
    next_attempt_at: datetime | None
    prompt: str | None
    # An input step's JSON Schema for its answer.
    input_schema: dict[str, Any] | None = Field(alias="schema")
    child_id: UUID | None
    progress: Progress | None
    duration_ms: int | None
    # What the step's spec keeps with it, as given (the test platform's step specs).
    metadata: dict[str, Any] | None = None


class AttemptView(View):
    """One delivery of one attempt of a step; `status` is also `lost` (its runner went
    silent) or `cancelled`."""

    step_id: str
    attempt: int
    delivery: int
    status: str
    worker: str | None
    exit_code: int | None
    error: str | None
    error_kind: str | None
    started_at: datetime | None
    finished_at: datetime | None


class ExecutionSummary(View):
    """An execution as `GET /executions` lists it."""

    id: UUID
    status: ExecutionStatus
    message: str
    input: Any
    metadata: dict[str, Any]
    output: Any
    error: ExecutionError | None
    n_steps: int
    workflow_id: str | None
    name: str | None
    queue: str | None
    worker: str | None
    parent_id: UUID | None
    schedule_id: str | None
    duration_ms: int | None
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    updated_at: datetime
    queue_wait_ms: int | None
    links: ExecutionLinks
    logs_url: str | None


class ExecutionView(View):
    """An execution with its workflow, steps, attempts, children and artifacts: every
    field of its summary (a unit test holds them equal), in the API's order."""

    id: UUID
    version: int
    status: ExecutionStatus
    message: str
    workflow: StoredWorkflow
    input: Any
    metadata: dict[str, Any]
    output: Any
    error: ExecutionError | None
    n_steps: int
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    updated_at: datetime
    workflow_id: str | None
    name: str | None
    queue: str | None
    worker: str | None
    parent_id: UUID | None
    schedule_id: str | None
    retry_of: UUID | None
    retried_by: UUID | None
    parent_step: str | None
    progress: Progress | None
    stopped_steps: list[str] | None
    workflow_version: int | None
    priority: int
    n_agent_actions: int
    n_screenshots: int
    checkpoints: list[Checkpoint]
    artifacts: list[ArtifactView]
    # The trace of the execution's journey across the services, when tracing was on.
    trace_id: str | None = None
    steps: list[StepView]
    attempts: list[AttemptView]
    children: list[UUID]
    duration_ms: int | None
    queue_wait_ms: int | None
    links: ExecutionLinks
    logs_url: str | None
    output_url: str | None
    video_url: str | None


class ExecutionPage(View):
    items: list[ExecutionSummary]
    # The `cursor` of the next page; null on the last one.
    next_cursor: str | None


class TransitionView(View):
    version: int
    type: TransitionType
    from_: ExecutionStatus | None = Field(alias="from")
    to: ExecutionStatus
    reason: str
    actor: str
    at: datetime


class TransitionList(View):
    items: list[TransitionView]


class HistoryEvent(View):
    """A stored event: its `body` is the event as published (`type`, `version`, …)."""

    version: int
    type: str
    at: IsoTime
    body: StoredEvent


class HistoryList(View):
    items: list[HistoryEvent]


class ExportedEvent(HistoryEvent):
    """A line of `GET /history`: an event with its execution."""

    execution_id: UUID


class LogLineView(View):
    # Orders an execution's lines; the `after` of the next page.
    id: int
    step_id: str
    attempt: int
    # Which delivery of the attempt (a lapsed lease hands it to another runner).
    delivery: int
    seq: int
    stream: str
    at: IsoTime
    line: str


class LogPage(View):
    items: list[LogLineView]
    next_cursor: int | None


class LogsEnd(View):
    """The last event of a log stream: every line is in, and the execution is over."""

    status: ExecutionStatus


class ExecutionAccepted(View):
    """The answer to a create: the execution exists once it shows in `GET`."""

    id: UUID
    status: ExecutionStatus
    links: ExecutionLinks
    # `POST /workflows/{id}/execute` also says them.
    execution_id: UUID | None = None
    workflow_id: str | None = None


class CommandAccepted(View):
    """The answer to cancel, resume, retry: `applied` once the scheduler has answered
    (false: stored, not yet answered). A retry is a new execution: `id` is the new one's."""

    id: UUID
    accepted: bool
    applied: bool
    links: ExecutionLinks
    retry_of: UUID | None = None
    status: ExecutionStatus | None = None
