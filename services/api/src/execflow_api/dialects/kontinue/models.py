"""kontinue's `Execution` resource (`kontinue.cloud/v1alpha1`), as its manifests write it,
and the Kubernetes API's own shapes it travels in (lists, watch events, `Status`)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from execflow_contracts import BoundedJsonObject, Duration, WorkflowId

GROUP = "kontinue.cloud"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "Execution"
PLURAL = "executions"
SINGULAR = "execution"
SHORT_NAMES = ["kex"]
DEFAULT_NAMESPACE = "default"

# Kubernetes object names and namespaces: DNS subdomains and labels.
Name = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", max_length=253)]
Namespace = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]
Phase = Literal["Pending", "Executing", "Suspended", "Backoff", "Completed", "Failed", "Canceled"]
ChildPolicy = Literal["None", "RetryFailed"]


class Strict(BaseModel):
    """A manifest's part: unknown fields are refused (kubectl's strict field validation)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class KubernetesObjectMeta(Strict):
    name: Name | None = None
    generate_name: str | None = Field(default=None, alias="generateName", max_length=200)
    namespace: Namespace | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    # Set by the server; accepted (and ignored) in what a client sends back.
    uid: str | None = None
    resource_version: str | None = Field(default=None, alias="resourceVersion")
    creation_timestamp: datetime | None = Field(default=None, alias="creationTimestamp")


class KontinueRetry(Strict):
    """Retries of the whole run: each of its steps may fail `retries` times, `backoff`
    apart; `childPolicy` says whether failed children (sub-executions) are retried too."""

    retries: int = Field(default=0, ge=0, le=99)
    backoff: Duration = 5.0
    child_policy: ChildPolicy = Field(default="None", alias="childPolicy")


class KontinueTimeout(Strict):
    attempt: Duration | None = None
    overall: Duration | None = None


class KontinueTtl(Strict):
    delete_after: Duration | None = Field(default=None, alias="deleteAfter")


class KontinueExecutionSpec(Strict):
    function: WorkflowId
    arguments: BoundedJsonObject | None = None
    retry: KontinueRetry | None = None
    timeout: KontinueTimeout | None = None
    ttl: KontinueTtl | None = None


class KontinueAttempt(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    phase: Phase
    message: str = ""
    started_at: datetime | None = Field(default=None, serialization_alias="startedAt")
    finished_at: datetime | None = Field(default=None, serialization_alias="finishedAt")


class KontinueProgress(BaseModel):
    current: float
    max: float | None = None


class KontinueExecutionStatus(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    phase: Phase
    message: str = ""
    worker_name: str | None = Field(default=None, serialization_alias="workerName")
    started_at: datetime | None = Field(default=None, serialization_alias="startedAt")
    finished_at: datetime | None = Field(default=None, serialization_alias="finishedAt")
    attempts: list[KontinueAttempt] = Field(default_factory=list)
    progress: KontinueProgress | None = None
    result: Any = None


class KontinueExecution(Strict):
    """A manifest (what `kubectl create -f` sends), or the resource as served."""

    api_version: Literal["kontinue.cloud/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["Execution"]
    metadata: KubernetesObjectMeta = Field(default_factory=KubernetesObjectMeta)
    spec: KontinueExecutionSpec
    status: dict[str, Any] | None = None  # a client's is ignored: execflow keeps it


class KontinueExecutionResource(BaseModel):
    """The resource as served (documentation of the answers: they are Kubernetes JSON)."""

    model_config = ConfigDict(populate_by_name=True)

    api_version: str = Field(alias="apiVersion")
    kind: str
    metadata: dict[str, Any]
    spec: KontinueExecutionSpec
    status: KontinueExecutionStatus


class KontinueExecutionList(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    api_version: str = Field(alias="apiVersion")
    kind: str
    metadata: dict[str, Any]
    items: list[KontinueExecutionResource]


def status_object(code: int, reason: str, message: str, **details: Any) -> dict[str, Any]:
    """A Kubernetes `Status`: how the API server says no."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = {"group": GROUP, "kind": PLURAL, **details}
    return body
