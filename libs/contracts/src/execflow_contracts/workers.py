"""The worker registry: what each live runner (and remote agent) says about itself,
every few seconds."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, computed_field

from .queues import QueueKey
from .specs import BackendName, FunctionName, StepId

# Also the runner's key in the registry bucket, hence the characters NATS keys allow.
WorkerId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$", max_length=128)]


class RunningStep(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    execution_id: UUID
    step_id: StepId
    attempt: int
    backend: BackendName
    started_at: datetime
    # Whose execution it is (None: `default`'s, or said by a runner older than namespaces).
    namespace: str | None = None


# A runner (process and container steps), a remote agent, or a function worker.
WorkerKind = Literal["runner", "agent", "function"]


class WorkerInfo(BaseModel):
    """A runner's registration, or a remote agent's (the API registers it and refreshes
    it as the agent calls); it disappears when its heartbeats stop."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: int = 1
    id: WorkerId
    host: str
    pid: int
    # By key (see `queues`): `gpu` is `default`'s, `team-a/gpu` namespace team-a's.
    queues: list[QueueKey]
    backends: list[BackendName]
    capacity: int
    running: list[RunningStep] = Field(default_factory=list)
    started_at: datetime
    last_heartbeat: datetime
    kind: WorkerKind = "runner"
    labels: dict[str, str] = Field(default_factory=dict)
    # A function worker's: the functions it serves (on each of its queues).
    functions: list[FunctionName] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def n_running(self) -> int:
        return len(self.running)
