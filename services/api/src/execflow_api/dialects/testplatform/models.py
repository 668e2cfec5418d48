"""The test platform's shapes: suites and their topology, profiles, platform settings,
the launch request and what the launch page lists. Its own camelCase names."""

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from execflow_contracts import (
    BoundedJsonObject,
    Duration,
    ExecutionAccepted,
    MemorySize,
    QueueName,
    StepId,
    WorkflowId,
)

SuiteId = WorkflowId
ProfileName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,128}$")]
BackendType = Literal["local", "remote-agent", "kubernetes"]
# A nested suite's nodes become steps named `<alias>__<node>`.
NESTED_SEPARATOR = "__"


class Shape(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class SuiteImport(Shape):
    """Another suite's nodes, imported as one node: `ref` is `latest` or a version."""

    id: SuiteId
    ref: str = Field(default="latest", pattern=r"^(latest|[1-9][0-9]*)$")


class Node(Shape):
    """One node of a topology: a command (in `image` if given), or a nested suite."""

    id: StepId
    name: str | None = None
    description: str = ""
    depends_on: list[StepId] = Field(default_factory=list, alias="dependsOn")
    image: str | None = Field(default=None, min_length=1)
    command: list[str] | None = Field(default=None, min_length=1)
    env: dict[str, str] = Field(default_factory=dict)
    workdir: str | None = None
    timeout: Duration | None = None
    retries: int = Field(default=0, ge=0, le=99)
    labels: dict[str, str] = Field(default_factory=dict)
    suite: SuiteImport | None = None

    @model_validator(mode="after")
    def _command_or_suite(self) -> Self:
        if NESTED_SEPARATOR in self.id:
            raise ValueError(f"node '{self.id}': `{NESTED_SEPARATOR}` is kept for nested nodes")
        if (self.command is None) == (self.suite is None):
            raise ValueError(f"node '{self.id}' needs either `command` or `suite`")
        if self.suite is not None and (self.image or self.env or self.workdir):
            raise ValueError(f"node '{self.id}' imports a suite: it runs no command of its own")
        return self


class Topology(Shape):
    nodes: list[Node] = Field(min_length=1, max_length=1000)


class SuiteIn(Shape):
    """`POST /api/v1/suites`: a suite's identity, topology and supported profiles (none
    listed: any profile)."""

    id: SuiteId
    title: str = Field(min_length=1, max_length=200)
    repository: str | None = None
    description: str = ""
    profiles: list[ProfileName] = Field(default_factory=list)
    topology: Topology


class Suite(SuiteIn):
    version: int
    digest: str
    created_at: datetime


class SuiteList(BaseModel):
    items: list[Suite]


class Runtime(Shape):
    """What a profile runs with: an image for nodes that name none, container limits, a
    timeout for each node."""

    name: str | None = None
    image: str | None = Field(default=None, min_length=1)
    cpus: float | None = Field(default=None, gt=0)
    memory: MemorySize | None = None
    timeout: Duration | None = None


class ProfileIn(Shape):
    """`POST /api/v1/profiles`: env vars, request headers and a runtime profile."""

    name: ProfileName
    description: str = ""
    env: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    runtime: Runtime = Field(default_factory=Runtime)


class Profile(ProfileIn):
    updated_at: datetime


class ProfileList(BaseModel):
    items: list[Profile]


class Backend(Shape):
    """A place steps run: `local` (runners, containers when a node has an image),
    `remote-agent` (a queue that registered agents serve), `kubernetes` (a queue that
    runners with the Kubernetes backend serve)."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    type: BackendType
    queue: QueueName | None = None

    @model_validator(mode="after")
    def _queue_for_remote(self) -> Self:
        if self.type != "local" and self.queue is None:
            raise ValueError(f"backend '{self.name}' ({self.type}) needs the `queue` it serves")
        return self


LOCAL = Backend(name="local", type="local")


class PlatformSettingsIn(Shape):
    backends: list[Backend] = Field(default_factory=list)
    default_backend: str | None = Field(default=None, alias="defaultBackend")

    @model_validator(mode="after")
    def _known_default(self) -> Self:
        names = [b.name for b in self.backends]
        if len(set(names)) != len(names):
            raise ValueError("backend names must be unique")
        if self.default_backend is not None and self.default_backend not in names:
            raise ValueError(f"defaultBackend '{self.default_backend}' is not a backend")
        return self


class PlatformSettings(Shape):
    """The settings in force: with no backend configured, `local` (the seed's fallback)."""

    backends: list[Backend]
    default_backend: str = Field(alias="defaultBackend")
    configured: bool

    @classmethod
    def of(cls, given: PlatformSettingsIn | None) -> "PlatformSettings":
        if given is None or not given.backends:
            return cls(backends=[LOCAL], default_backend=LOCAL.name, configured=False)
        default = given.default_backend or given.backends[0].name
        return cls(backends=given.backends, default_backend=default, configured=True)

    def backend(self, name: str | None) -> Backend | None:
        wanted = name or self.default_backend
        return next((b for b in self.backends if b.name == wanted), None)


class LaunchRequest(Shape):
    """`POST /api/v1/executions` as the test platform sends it."""

    suite_id: SuiteId = Field(alias="suiteId")
    profile: ProfileName
    backend: str | None = None
    metadata: BoundedJsonObject = Field(default_factory=dict)


class ProfileOption(BaseModel):
    name: str
    description: str


class BackendOption(BaseModel):
    name: str
    type: BackendType


class LaunchSuite(BaseModel):
    """A suite that can launch: with the profiles and backends it can launch with."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    title: str
    repository: str | None
    version: int
    profiles: list[ProfileOption]
    backends: list[BackendOption]
    default_backend: str = Field(serialization_alias="defaultBackend")
    nodes: int


class LaunchSuiteList(BaseModel):
    items: list[LaunchSuite]


class Launched(ExecutionAccepted):
    """The launch's answer: execflow's create answer, with what was launched."""

    suite_id: str = Field(alias="suiteId")
    profile: str
    backend: str
    steps: int


def node_definition(node: Node) -> dict[str, Any]:
    """A node as its author wrote it (defaults left out)."""
    return node.model_dump(mode="json", by_alias=True, exclude_defaults=True)
