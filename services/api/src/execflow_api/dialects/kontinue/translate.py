"""Between kontinue's Execution and execflow's: a manifest becomes a CreateExecution of
the registered workflow its `function` names, with its retry, timeout and ttl applied to
the whole run; an execution's read model becomes the resource with its status."""

import secrets
import string
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid5

from execflow_contracts import DEFAULT_NAMESPACE, ExecutionStatus, WorkflowSpec

from .models import (
    API_VERSION,
    KIND,
    KontinueAttempt,
    KontinueExecutionSpec,
    KontinueExecutionStatus,
    KontinueProgress,
    KubernetesObjectMeta,
    Phase,
)

# An execution's id is made from its namespace and name: one name, one execution.
NAMES = UUID("3c1e9a7e-6b0f-4c8e-9f57-2b8d4e1a6c02")
# What execflow's metadata keeps of the resource (flat keys: listings filter on them).
NAME_KEY = "kontinue.name"
NAMESPACE_KEY = "kontinue.namespace"
LABELS_KEY = "kontinue.labels"
ANNOTATIONS_KEY = "kontinue.annotations"
GENERATE_NAME_KEY = "kontinue.generateName"
SPEC_KEY = "kontinue.spec"

PHASE: dict[ExecutionStatus, Phase] = {
    ExecutionStatus.PENDING: "Pending",
    ExecutionStatus.QUEUED: "Pending",
    ExecutionStatus.STARTING: "Executing",
    ExecutionStatus.RUNNING: "Executing",
    ExecutionStatus.CANCELLING: "Executing",  # until its steps have stopped
    ExecutionStatus.AWAITING_INPUT: "Suspended",
    ExecutionStatus.BACKOFF: "Backoff",
    ExecutionStatus.COMPLETED: "Completed",
    ExecutionStatus.FAILED: "Failed",
    ExecutionStatus.TIMED_OUT: "Failed",
    ExecutionStatus.CANCELLED: "Canceled",
}
SUFFIX = string.ascii_lowercase + string.digits


def execution_id(namespace: str, name: str, tenant: str = DEFAULT_NAMESPACE) -> UUID:
    """The execution a name stands for, in the key's execflow namespace (`tenant`): two
    tenants' `default/build` are two executions (`default`'s as it always was)."""
    scoped = (
        f"{namespace}/{name}" if tenant == DEFAULT_NAMESPACE else f"{tenant}:{namespace}/{name}"
    )
    return uuid5(NAMES, scoped)


def generated(prefix: str) -> str:
    """`generateName`'s name: the prefix and five random characters, as Kubernetes does."""
    return prefix + "".join(secrets.choice(SUFFIX) for _ in range(5))


def metadata_of(
    meta: KubernetesObjectMeta, name: str, namespace: str, spec: KontinueExecutionSpec
) -> dict[str, Any]:
    kept: dict[str, Any] = {
        NAME_KEY: name,
        NAMESPACE_KEY: namespace,
        LABELS_KEY: meta.labels,
        ANNOTATIONS_KEY: meta.annotations,
        SPEC_KEY: spec.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
    if meta.generate_name:
        kept[GENERATE_NAME_KEY] = meta.generate_name
    return kept


def with_policies(workflow: WorkflowSpec, spec: KontinueExecutionSpec) -> WorkflowSpec:
    """The workflow with the resource's retry, timeout and ttl, which apply to the whole
    run: every step retries as `retry` says (children only with `RetryFailed`), every
    attempt has `timeout.attempt`, the run `timeout.overall`, and `ttl.deleteAfter`."""
    data = workflow.model_dump(mode="json", by_alias=True)
    if spec.retry is not None and spec.retry.retries > 0:
        policy = {
            "max_attempts": spec.retry.retries + 1,
            # kontinue waits the same `backoff` before each retry.
            "backoff": {
                "initial": spec.retry.backoff,
                "factor": 1.0,
                "max": spec.retry.backoff,
                "jitter": 0.0,
            },
        }
        data["defaults"]["retry"] = policy
        for step in data["steps"]:
            child = step.get("type") == "child"
            if step.get("type", "run") == "run" or (child and spec.retry.child_policy != "None"):
                step["retry"] = policy
    timeout = spec.timeout
    if timeout is not None and timeout.attempt is not None:
        data["defaults"]["timeout"] = {"attempt": timeout.attempt}
        for step in data["steps"]:
            if step.get("timeout") is not None:
                step["timeout"] = {"attempt": timeout.attempt}
    if timeout is not None and timeout.overall is not None:
        data["timeout"] = {"overall": timeout.overall}
    if spec.ttl is not None and spec.ttl.delete_after is not None:
        data["ttl"] = {"delete_after": spec.ttl.delete_after}
    return WorkflowSpec.model_validate(data)


def phase_of(row: dict[str, Any], waiting_on_children: bool) -> Phase:
    """A running execution whose running steps all wait on a child is suspended."""
    status = ExecutionStatus(row["status"])
    if status is ExecutionStatus.RUNNING and waiting_on_children:
        return "Suspended"
    return PHASE[status]


def attempts_of(transitions: list[dict[str, Any]]) -> list[KontinueAttempt]:
    """The run's attempts: each begins when it runs, and ends when it backs off to retry
    (Failed) or when the execution ends."""
    attempts: list[KontinueAttempt] = []
    current: KontinueAttempt | None = None
    for move in transitions:
        to = ExecutionStatus(move["to"])
        if to is ExecutionStatus.RUNNING and current is None:
            current = KontinueAttempt(phase="Executing", started_at=move["at"])
        elif current is not None and (to is ExecutionStatus.BACKOFF or to.is_terminal):
            phase = "Failed" if to is ExecutionStatus.BACKOFF else PHASE[to]
            attempts.append(
                current.model_copy(
                    update={"phase": phase, "message": move["reason"], "finished_at": move["at"]}
                )
            )
            current = None
    return [*attempts, current] if current is not None else attempts


def resource(
    row: dict[str, Any],
    waiting_on_children: bool = False,
    transitions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The Execution resource of an execution's read model row."""
    metadata = row["metadata"]
    progress = row.get("progress")
    terminal = ExecutionStatus(row["status"]).is_terminal
    status = KontinueExecutionStatus(
        phase=phase_of(row, waiting_on_children),
        message=row["message"] or "",
        worker_name=row["worker"],
        started_at=row["started_at"],
        finished_at=row["completed_at"],
        attempts=attempts_of(transitions or []),
        progress=KontinueProgress(current=progress["current"], max=progress.get("max"))
        if progress
        else None,
        result=row["output"] if terminal else None,
    )
    meta: dict[str, Any] = {
        "name": metadata[NAME_KEY],
        "namespace": metadata[NAMESPACE_KEY],
        "uid": str(row["id"]),
        "resourceVersion": str(row["version"]),
        "creationTimestamp": timestamp(row["created_at"]),
    }
    for key, field in ((LABELS_KEY, "labels"), (ANNOTATIONS_KEY, "annotations")):
        if metadata.get(key):
            meta[field] = metadata[key]
    if metadata.get(GENERATE_NAME_KEY):
        meta["generateName"] = metadata[GENERATE_NAME_KEY]
    served = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": meta,
        "spec": metadata[SPEC_KEY],
        "status": served,
    }


def timestamp(moment: datetime) -> str:
    """As Kubernetes writes times: UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def age(moment: datetime, now: datetime | None = None) -> str:
    """kubectl's AGE: 45s, 12m, 3h, 5d."""
    seconds = max(0, int(((now or datetime.now(UTC)) - moment).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 2 * 3600:
        return f"{seconds // 60}m"
    if seconds < 48 * 3600:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"
