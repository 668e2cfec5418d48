"""Who may do what: namespaces (tenants), roles, and the requests that manage API keys.

Every execution, workflow, schedule and queue limit belongs to one namespace; an API key
carries a namespace and a role. Executions stored before namespaces existed belong to
`default`.
"""

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from .queues import DEFAULT_NAMESPACE, NamespaceName, QueueName


def namespace_of(stored: str | None) -> str:
    """The namespace of something stored before namespaces existed is `default`."""
    return stored or DEFAULT_NAMESPACE


class Role(StrEnum):
    """`reader`: GET and streams; `operator`: also create, cancel, retry, resume,
    schedules, workflows; `admin`: also keys, namespaces, queues, environments. `agent`:
    a remote agent's token, which may only claim (and report) work of its queues."""

    READER = "reader"
    OPERATOR = "operator"
    ADMIN = "admin"
    AGENT = "agent"


class KeyRequest(BaseModel):
    """`POST /api/v1/keys`: a new key (its secret is shown once, in the answer)."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    # Unset: the namespace of the admin key that asks.
    namespace: NamespaceName | None = None
    name: Annotated[str, Field(max_length=200)] = ""
    # An agent token's queues (required for `agent`, refused for the other roles).
    queues: list[QueueName] | None = None


class NamespaceRequest(BaseModel):
    """`POST /api/v1/namespaces`."""

    model_config = ConfigDict(extra="forbid")

    name: NamespaceName
    # Finished executions of the namespace are deleted this long after they end, unless
    # their workflow's `ttl.delete_after` says otherwise (None: kept).
    retention_s: Annotated[float, Field(gt=0, le=100 * 365 * 86400)] | None = None


class HoldRequest(BaseModel):
    """`POST /api/v1/executions/{id}/hold` (or `/api/v1/holds?<filters>`): keep it past
    its time to live until the hold is released."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(max_length=1000)] = ""
