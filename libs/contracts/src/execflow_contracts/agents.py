"""The remote-agent HTTP protocol (`/api/v1/agent-control`): request and answer bodies."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .commands import ExitCode
from .json_values import BoundedJson, BoundedJsonObject
from .queues import QueueName
from .work import StepWork
from .workers import WorkerId

# The most steps one agent may say it runs at once.
MAX_AGENT_CAPACITY = 256


class AgentRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AgentRegistration(AgentRequest):
    """`POST /api/v1/agent-control/agents`: an agent says who it is, before its first
    claim (or its first claim says it); it is listed with the runners while it calls."""

    name: WorkerId
    queues: list[QueueName] = Field(min_length=1)
    capacity: int = Field(default=1, ge=1, le=MAX_AGENT_CAPACITY)
    labels: dict[str, str] = Field(default_factory=dict)
    host: str | None = Field(default=None, max_length=255)
    pid: int = Field(default=0, ge=0)


class ClaimRequest(AgentRequest):
    agent: str = Field(min_length=1, max_length=200)
    queues: list[QueueName] = Field(min_length=1)
    capacity: int = Field(default=1, ge=1, le=MAX_AGENT_CAPACITY)
    # Long poll: wait this long for work before answering 204.
    wait: float = Field(default=0.0, ge=0.0, le=60.0)


class Claim(BaseModel):
    """A job: one delivery of one step attempt, held while the lease is extended."""

    model_config = ConfigDict(frozen=True)

    id: str
    lease_token: str
    lease_expires_at: datetime
    lease_s: float
    step: StepWork
    # Variable → value of the secrets the step's env names (`{secret: NAME}`): for its
    # environment only, sent in this answer alone. What the agent reports is masked.
    secrets: dict[str, str] = Field(default_factory=dict)


class LeaseRequest(AgentRequest):
    lease_token: str


class AgentLogLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    stream: Literal["stdout", "stderr"] = "stdout"
    line: str


class LogsRequest(LeaseRequest):
    lines: list[AgentLogLine] = Field(min_length=1, max_length=1000)


class EventsRequest(LeaseRequest):
    # Step protocol facts, as a step writes them to $EXECFLOW_EVENTS.
    events: list[BoundedJsonObject] = Field(min_length=1, max_length=1000)


class CompleteRequest(LeaseRequest):
    exit_code: ExitCode | None
    output: BoundedJson = None
    error: str | None = None


class SignalsRequest(LeaseRequest):
    # Long poll: wait this long for a signal before answering with none.
    wait: float = Field(default=0.0, ge=0.0, le=60.0)


class JobSignals(BaseModel):
    """What the agent must act on for a job: stop its step (and why), or hand the step
    the answer to its question (`answered`, since an answer may itself be null)."""

    model_config = ConfigDict(frozen=True)

    stop: str | None = None
    answered: bool = False
    answer: Any = None


class LeaseExtended(BaseModel):
    """The job's lease, extended; and its signals (what `/signals` would answer now)."""

    id: str
    lease_expires_at: datetime
    signals: JobSignals


class LogsAccepted(BaseModel):
    accepted: int


class EventsAccepted(BaseModel):
    accepted: int
    # Why each of the others was ignored.
    ignored: list[str]


class CompletionAccepted(BaseModel):
    id: str
    accepted: bool
