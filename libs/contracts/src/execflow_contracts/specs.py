"""What a user asks to run: workflow, steps and how each step runs."""

from graphlib import CycleError, TopologicalSorter
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

StepId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
QueueName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
DEFAULT_QUEUE = "default"
# Bytes, or a number with a unit as Docker takes it: "512k", "64m", "2g".
MemorySize = (
    Annotated[str, Field(pattern=r"^[1-9][0-9]*[bkmgBKMG]?$")] | Annotated[int, Field(ge=1)]
)
BackendName = Literal["process", "docker"]


class Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Resources(Spec):
    """Limits of a container step; what is unset falls back to the runner's defaults."""

    cpus: float | None = Field(default=None, gt=0)
    memory: MemorySize | None = None
    pids: int | None = Field(default=None, ge=1)


class RunSpec(Spec):
    """A command, run without a shell: as a process, or in a container when `image` is set.

    A container gets the execution's workspace at `/workspace` (its working directory)
    and no network unless `network` is true.
    """

    command: list[str] = Field(min_length=1)
    env: dict[str, str] = Field(default_factory=dict)
    workdir: str | None = None
    image: str | None = Field(default=None, min_length=1)
    resources: Resources | None = None
    network: bool = False

    @model_validator(mode="after")
    def _containers_only(self) -> Self:
        # A process cannot be limited or cut off the network: say so rather than ignore it.
        if self.image is None and (self.resources is not None or self.network):
            raise ValueError("`resources` and `network` apply to container steps: set `image`")
        return self

    @property
    def backend(self) -> BackendName:
        return "docker" if self.image else "process"


class StepSpec(Spec):
    id: StepId
    needs: list[StepId] = Field(default_factory=list)
    run: RunSpec
    queue: QueueName = DEFAULT_QUEUE


class WorkflowSpec(Spec):
    steps: list[StepSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_graph(self) -> Self:
        check_graph(self.steps)
        return self

    def step(self, step_id: str) -> StepSpec:
        return next(s for s in self.steps if s.id == step_id)


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
    """The body of `POST /api/v1/executions`."""

    workflow: WorkflowSpec
    input: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
