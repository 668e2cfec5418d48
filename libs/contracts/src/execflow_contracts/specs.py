"""What a user asks to run: workflow, steps, and how each step runs, retries and times out."""

import json
from collections.abc import Mapping
from functools import lru_cache
from graphlib import CycleError, TopologicalSorter
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .durations import Duration
from .json_values import STORED, BoundedJson, BoundedJsonObject
from .queues import QueueName
from .secrets import SecretRef

StepId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
WorkflowId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,128}$")]
# A function's name is a token of its work's subject and of its consumer's name: no dots.
FunctionName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
DEFAULT_QUEUE = "default"
# Bytes, or a number with a unit as Docker takes it: "512k", "64m", "2g".
MemorySize = (
    Annotated[str, Field(pattern=r"^[1-9][0-9]*[bkmgBKMG]?$")] | Annotated[int, Field(ge=1)]
)
ContainerUser = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,63})?$")
]
# Where a step runs: a process; a container, on Docker or (a runner configured for it) as
# a Kubernetes Job; or a function, in a function worker's process.
BackendName = Literal["process", "docker", "kubernetes", "function"]

# A variable of a step's environment: a string (a template), or a secret by name, whose
# value the runner puts there when the step starts (never in an event or a message).
EnvValue = str | SecretRef

# Why an attempt failed, for `no_retry_errors`. A function raised (`exception`), or was
# given arguments its input model refuses (`input`: never retried, it would fail again).
ErrorKind = Literal["exit", "signal", "start", "timeout", "lost", "exception", "input"]


class Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Resources(Spec):
    """Limits of a container step; what is unset falls back to the runner's defaults."""

    cpus: float | None = Field(default=None, gt=0)
    memory: MemorySize | None = None
    pids: int | None = Field(default=None, ge=1)


class RunSpec(Spec):
    """A command, run without a shell: as a process, or in a container when `image` is set;
    or a Python function, by name, called by a function worker that serves it.

    A container gets the execution's workspace at `/workspace` (its working directory).
    Neither a container nor a (sandboxed) process has a network unless `network` is true.
    A function gets `args` (validated against its input model by the worker) and runs in
    the worker's own process.
    """

    command: list[str] = Field(default_factory=list)
    env: dict[str, EnvValue] = Field(default_factory=dict)
    workdir: str | None = None
    image: str | None = Field(default=None, min_length=1)
    resources: Resources | None = None
    network: bool = False
    # The user a container step runs as (`root`, `1000`, `1000:1000`, a name the image
    # knows); unset, the runner's default, which is not root.
    user: ContainerUser | None = None
    function: FunctionName | None = None
    args: BoundedJsonObject = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        # By value, not by the fields given: a spec read back from its own JSON has them all.
        if self.function is not None:
            unfit = [
                name
                for name, value in (
                    ("command", self.command),
                    ("env", self.env),
                    ("workdir", self.workdir),
                    ("image", self.image),
                    ("resources", self.resources),
                    ("network", self.network),
                    ("user", self.user),
                )
                if value
            ]
            if unfit:
                names = ", ".join(f"`{n}`" for n in unfit)
                raise ValueError(f"a function step takes `args`; {names} belong to commands")
            return self
        if not self.command:
            raise ValueError("`run` needs a `command` (at least one item) or a `function`")
        if self.args:
            raise ValueError("`args` are a function's: a command takes its arguments in `command`")
        # A process is not limited, nor run as another user: say so rather than ignore it.
        if self.image is None and (self.resources is not None or self.user is not None):
            raise ValueError("`resources` and `user` apply to container steps: set `image`")
        return self

    @property
    def literal_env(self) -> dict[str, str]:
        """The variables given as they are (rendered); secrets are the runner's to add."""
        return {name: value for name, value in self.env.items() if isinstance(value, str)}

    @property
    def secret_env(self) -> dict[str, str]:
        """Variable → the name of the secret whose value it takes."""
        return {
            name: value.secret for name, value in self.env.items() if isinstance(value, SecretRef)
        }

    @property
    def backend(self) -> BackendName:
        if self.function is not None:
            return "function"
        return "docker" if self.image else "process"


class Backoff(Spec):
    initial: Duration = 1.0
    factor: float = Field(default=2.0, ge=1.0)
    max: Duration = 60.0
    # Each delay is stretched or shrunk by up to this fraction, at random.
    jitter: float = Field(default=0.1, ge=0.0, le=1.0)

    def delay(self, failed_attempt: int, draw: float) -> float:
        """Seconds before the attempt after `failed_attempt`; `draw` is uniform in [-1, 1]."""
        base = min(self.initial * self.factor ** (failed_attempt - 1), self.max)
        return max(0.0, base * (1 + self.jitter * draw))


class RetryPolicy(Spec):
    max_attempts: int = Field(default=1, ge=1, le=100)
    backoff: Backoff = Field(default_factory=Backoff)
    no_retry_exit_codes: list[int] = Field(default_factory=list)
    no_retry_errors: list[ErrorKind] = Field(default_factory=list)

    def allows_retry(self, attempt: int, exit_code: int | None, kind: ErrorKind) -> bool:
        return (
            attempt < self.max_attempts
            and kind != "input"
            and kind not in self.no_retry_errors
            and (exit_code is None or exit_code not in self.no_retry_exit_codes)
        )


class StepTimeout(Spec):
    attempt: Duration | None = None


class ExecutionTimeout(Spec):
    overall: Duration | None = None


class Ttl(Spec):
    delete_after: Duration | None = None


class Defaults(Spec):
    """What every step gets unless it says otherwise."""

    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    timeout: StepTimeout = Field(default_factory=StepTimeout)
    queue: QueueName = DEFAULT_QUEUE
    # Environment every run step gets; a step's own `env` wins.
    env: dict[str, EnvValue] = Field(default_factory=dict)


# Where a step's output comes from: what it reports through the step protocol, or its
# last stdout line parsed as JSON.
OutputMode = Literal["report", "stdout-json"]


class Concurrency(Spec):
    """At most `max` executions whose `key` (a template over inputs and metadata)
    renders to the same value run at once; the others wait in `queued`."""

    key: str = Field(min_length=1)
    max: int = Field(default=1, ge=1)


class StepSpec(Spec):
    id: StepId
    type: Literal["run", "input", "child"] = "run"
    needs: list[StepId] = Field(default_factory=list)
    run: RunSpec | None = None
    queue: QueueName | None = None
    retry: RetryPolicy | None = None
    timeout: StepTimeout | None = None
    # A CEL condition over `inputs`, `steps.<id>.output` and `metadata`: false skips the step.
    when: str | None = None
    output: OutputMode = "report"
    # type: input — what to ask, and the JSON Schema the answer must match.
    prompt: str | None = None
    input_schema: BoundedJsonObject | None = Field(default=None, alias="schema")
    # type: child — the sub-execution's workflow and input.
    workflow: "WorkflowSpec | None" = None
    input: BoundedJson = None
    # What the step's author (or a dialect that made it) wants kept with it, shown on the
    # execution's step as it was given; execflow itself reads nothing in it.
    metadata: BoundedJsonObject | None = None

    @model_validator(mode="after")
    def _check_type(self) -> Self:
        if self.type == "run" and self.run is None:
            raise ValueError(f"step '{self.id}' of type run needs `run`")
        if self.type == "child" and self.workflow is None:
            raise ValueError(f"step '{self.id}' of type child needs `workflow`")
        if self.type != "run" and self.run is not None:
            raise ValueError(f"step '{self.id}' of type {self.type} cannot have `run`")
        if self.type != "run" and self.output != "report":
            raise ValueError(f"step '{self.id}' of type {self.type} cannot have `output`")
        if self.run is not None and self.run.function is not None and self.output != "report":
            raise ValueError(f"step '{self.id}' calls a function: its output is what it returns")
        return self


class WorkflowSpec(Spec):
    steps: list[StepSpec] = Field(min_length=1)
    defaults: Defaults = Field(default_factory=Defaults)
    timeout: ExecutionTimeout = Field(default_factory=ExecutionTimeout)
    ttl: Ttl = Field(default_factory=Ttl)
    # Higher runs first when work waits for a queue slot; an execution may override it.
    priority: int = Field(default=0, ge=-1000, le=1000)
    concurrency: Concurrency | None = None
    # Executions of this registered workflow that run at once, at most.
    max_running: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _check_graph(self) -> Self:
        check_graph(self.steps)
        return self

    def step(self, step_id: str) -> StepSpec:
        return next(s for s in self.steps if s.id == step_id)

    def retry_policy(self, step: StepSpec) -> RetryPolicy:
        return step.retry or self.defaults.retry

    def attempt_timeout(self, step: StepSpec) -> float | None:
        return (step.timeout or self.defaults.timeout).attempt

    def queue(self, step: StepSpec) -> str:
        return step.queue or self.defaults.queue


def stored_workflow(data: Mapping[str, Any]) -> WorkflowSpec:
    """A workflow as stored in an event, validated once per distinct workflow: its
    executions share one (frozen) spec rather than each holding a copy. (Keys keep the
    order they were stored in, so the same workflow gives the same text.)"""
    return _workflow_from_json(json.dumps(data, separators=(",", ":")))


@lru_cache(maxsize=512)
def _workflow_from_json(text: str) -> WorkflowSpec:
    return WorkflowSpec.model_validate_json(text, context=STORED)


def check_graph(steps: list[StepSpec]) -> None:
    """Refuse duplicate ids, unknown or self `needs`, and cycles, naming the culprit."""
    ids = [s.id for s in steps]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate step ids: {', '.join(duplicates)}")
    known = set(ids)
    for step in steps:
        unknown = [n for n in step.needs if n not in known]
        if unknown:
            raise ValueError(f"step '{step.id}' needs unknown steps: {', '.join(unknown)}")
    try:
        TopologicalSorter({s.id: s.needs for s in steps}).prepare()
    except CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise ValueError(f"workflow has a cycle: {cycle}") from None


class ExecutionRequest(Spec):
    """The body of `POST /api/v1/executions`: an ad-hoc `workflow`, or the id (and
    optionally the version) of a registered one."""

    workflow: WorkflowSpec | None = None
    workflow_id: WorkflowId | None = None
    version: int | None = Field(default=None, ge=1)
    input: BoundedJson = None
    metadata: BoundedJsonObject = Field(default_factory=dict)
    priority: int | None = Field(default=None, ge=-1000, le=1000)

    @model_validator(mode="after")
    def _one_workflow(self) -> Self:
        if (self.workflow is None) == (self.workflow_id is None):
            raise ValueError("give either `workflow` or `workflow_id`")
        if self.version is not None and self.workflow_id is None:
            raise ValueError("`version` needs `workflow_id`")
        return self


class CancelRequest(Spec):
    reason: str = ""


class ResumeRequest(Spec):
    input: BoundedJson = None
    # Which waiting step the answer is for; needed only when several wait.
    step_id: StepId | None = None


class RetryRequest(Spec):
    from_step: StepId | None = None


class ChangeStatusRequest(Spec):
    """Julep's change_status: `cancelled` (with a `reason`), or `running` with the
    `input` a waiting execution waits for (and its `step_id` when several wait)."""

    status: str
    reason: str = ""
    input: BoundedJson = None
    step_id: StepId | None = None


StepSpec.model_rebuild()  # a child step holds a whole workflow
