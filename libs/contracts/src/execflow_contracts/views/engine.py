"""Read models of the engine as the API returns them: the overview, metrics, workers,
environments and health (see `base` for what every view shares)."""

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from ..workers import WorkerInfo
from .base import Number, View


class RunningNow(View):
    executions: int
    steps: int


class QueueDepth(View):
    """A queue's work waiting for a runner, and the work a runner holds (leased); or,
    with `function`, the queue's work for that function and its workers."""

    queue: str
    waiting: int
    leased: int
    function: str | None = None


class EngineOverview(View):
    # Executions per status, every status named.
    counts: dict[str, int]
    running_now: RunningNow
    queues: list[QueueDepth]
    workers: list[WorkerInfo] | None


class WorkerList(View):
    items: list[WorkerInfo]


class FunctionView(View):
    """A function that live workers serve, on which queues, by which workers."""

    name: str
    queues: list[str]
    workers: list[str]


class FunctionList(View):
    items: list[FunctionView]


class AsyncApiDocument(View):
    """The AsyncAPI 3.0 document of execflow's bus: its channels (subjects), operations
    (what execflow sends and receives) and components (the messages' schemas)."""

    asyncapi: str
    info: dict[str, Any]
    channels: dict[str, Any]
    operations: dict[str, Any]
    components: dict[str, Any]


class DurationStats(View):
    min: Number | None
    avg: Number | None
    p50: Number | None
    p95: Number | None
    max: Number | None


class WaitStats(View):
    avg: Number | None
    p95: Number | None


class MetricsBucket(View):
    """One time bucket (of one group, named by the `group_by` field it holds)."""

    bucket: datetime
    workflow: str | None = None
    queue: str | None = None
    status: str | None = None
    started: int
    completed: int
    failed: int
    cancelled: int
    timed_out: int
    # Of the executions that ended; null when none did.
    success_rate: Number | None
    duration_ms: DurationStats
    queue_wait_ms: WaitStats


class WorkerUtilisation(View):
    """Steps a worker ran on average over the window, and that over its capacity (known
    for live workers only)."""

    worker: str
    busy_s: Number
    avg_running_steps: Number
    capacity: int | None
    utilisation: Number | None


class MetricsReport(View):
    from_: datetime = Field(alias="from")
    to: datetime
    bucket: Literal["minute", "hour", "day"]
    group_by: Literal["workflow", "queue", "status"] | None
    items: list[MetricsBucket]
    workers: list[WorkerUtilisation]


class EnvironmentView(View):
    """A container, network or volume of this deployment on the Docker engine; times
    as the engine gives them. `image`, `state` and `status`: containers only."""

    id: str
    kind: Literal["container", "network", "volume"]
    name: str
    created_at: str | None
    execution_id: str | None
    step_id: str | None
    attempt: int | None
    worker: str | None
    labels: dict[str, str]
    image: str | None = None
    state: str | None = None
    status: str | None = None


class EnvironmentList(View):
    items: list[EnvironmentView]


class Health(View):
    status: Literal["ok"]


class Readiness(View):
    """`ready` when every check is `ok` (an optional one, `cache`, may be `absent`); live
    streams are `notified`, or polling while the API reconnects to PostgreSQL's notices
    (not a condition of readiness). `platform`: what the test platform's checks found
    (the backends in force, how many profiles and launchable suites)."""

    ready: bool
    checks: dict[str, str]
    live_streams: str
    platform: dict[str, Any] | None = None
    # `on`: every route but health and docs asks for an API key; `off`: anyone may do
    # anything. Without a key, `checks` is empty and `live_streams` blank.
    auth: str | None = None
