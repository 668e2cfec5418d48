"""How a step attempt becomes a Kubernetes Job: its name, labels, container, workspace and
limits, and the Secret holding the values of the secrets its step names. Pure: it builds
the manifests; `kubernetes.py` does the I/O.

The execution's workspace is a folder of a volume the runners share with the pods (a
PersistentVolumeClaim, ReadWriteMany), mounted at /workspace as the Docker backend does.

A secret's value is never in the Job: whoever may read Jobs (or Pods) of the namespace
would read it there. The container refers to a key of the attempt's Secret
(`valueFrom.secretKeyRef`), which the Job owns, so Kubernetes deletes it with the Job.
"""

import hashlib
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from execflow_contracts import StepWork

from .base import step_variables
from .containers import WORKSPACE, ContainerPolicy

# The label a pod runs without a network under: a NetworkPolicy of the deployment that
# selects it denies its traffic (Kubernetes has no per-pod "no network" switch).
NO_NETWORK_LABEL = "execflow.network"
# Docker's memory units (binary) as Kubernetes writes them; a bare number is bytes.
MEMORY_UNITS = {"b": "", "k": "Ki", "m": "Mi", "g": "Gi"}
# A Job the runner could not delete (it died first) is deleted by Kubernetes after this.
FINISHED_TTL_S = 3600
# What a Secret's key may be; a variable named otherwise is keyed by its digest.
SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")


@dataclass(frozen=True)
class JobPolicy:
    """Where this runner's Jobs go and what they run with."""

    containers: ContainerPolicy
    namespace: str
    # The PersistentVolumeClaim whose root is the runner's work dir.
    workspace_claim: str
    service_account: str | None = None


def job_name(work: StepWork, nonce: str) -> str:
    """A DNS label (≤ 63): recognisable, and unique to this run of the attempt (a runner
    taking over a lost one's delivery makes a Job of its own)."""
    key = f"{work.execution_id}:{work.step_id}:{work.attempt}:{nonce}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    slug = re.sub(r"[^a-z0-9-]+", "-", work.step_id.lower()).strip("-")[:30].strip("-")
    return f"execflow-{slug or 'step'}-{digest}"


def label_value(value: str) -> str:
    """A label value: at most 63 characters, alphanumeric at both ends (a step's id may
    be 64 long, or begin with `_`)."""
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", value[:63]) or "x"


def memory(limit: str | int | None) -> str | None:
    """Docker's `512m` (mebibytes) as Kubernetes' `512Mi` (where `m` would mean milli)."""
    if limit is None:
        return None
    if isinstance(limit, int):
        return str(limit)
    return limit[:-1] + MEMORY_UNITS[limit[-1].lower()] if limit[-1].isalpha() else limit


def secret_name(job: str) -> str:
    """The Secret of the Job `job` (a Secret's name may be 253 long; a Job's is 63)."""
    return f"{job}-secrets"


def secret_key(variable: str) -> str:
    digest = hashlib.sha256(variable.encode()).hexdigest()[:16]
    return variable if SECRET_KEY.fullmatch(variable) else f"env-{digest}"


def secret_values(work: StepWork, env: dict[str, str]) -> dict[str, str]:
    """Variable → value of the secrets the step names: `env` holds them beside the step
    protocol's paths, which are no secret."""
    return {variable: env[variable] for variable in work.run.secret_env if variable in env}


def job_labels(work: StepWork, policy: JobPolicy) -> dict[str, str]:
    labels = policy.containers.labels(work) | {
        NO_NETWORK_LABEL: "false" if work.run.network else "true",
    }
    return {key: label_value(value) for key, value in labels.items()}


def container_env(
    work: StepWork, job: str, workspace: Path, env: dict[str, str]
) -> list[dict[str, Any]]:
    """The container's `env`: plain values, and a reference into the attempt's Secret for
    each secret's. `env` holds runner paths under `workspace`, which the pod sees under
    /workspace."""
    hidden = secret_values(work, env)
    inside = {k: v.replace(str(workspace), WORKSPACE) for k, v in env.items() if k not in hidden}
    variables = step_variables(work, WORKSPACE) | inside | work.run.literal_env
    plain = [{"name": k, "value": v} for k, v in variables.items() if k not in hidden]
    secret = secret_name(job)
    return plain + [
        {"name": k, "valueFrom": {"secretKeyRef": {"name": secret, "key": secret_key(k)}}}
        for k in hidden
    ]


def job_manifest(
    work: StepWork,
    nonce: str,
    workspace: Path,
    policy: JobPolicy,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The Job of this delivery of the attempt (its secrets' values are in
    `secret_manifest`'s Secret, which it refers to)."""
    run = work.run
    name = job_name(work, nonce)
    labels = job_labels(work, policy)
    resources = run.resources
    cpus = resources.cpus if resources and resources.cpus else policy.containers.default_cpus
    limits = {
        key: value
        for key, value in (
            ("cpu", str(cpus) if cpus else None),
            ("memory", memory(policy.containers.memory_limit(work))),
        )
        if value is not None
    }
    container: dict[str, Any] = {
        "name": "step",
        "image": run.image,
        "command": run.command,
        "env": container_env(work, name, workspace, env or {}),
        "workingDir": posixpath.join(WORKSPACE, run.workdir) if run.workdir else WORKSPACE,
        "volumeMounts": [
            {"name": "workspace", "mountPath": WORKSPACE, "subPath": str(work.execution_id)}
        ],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    if limits:
        container["resources"] = {"limits": limits}
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        # Steps never hold a credential of ours.
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "containers": [container],
        "volumes": [
            {
                "name": "workspace",
                "persistentVolumeClaim": {"claimName": policy.workspace_claim},
            }
        ],
    }
    if policy.service_account:
        pod["serviceAccountName"] = policy.service_account
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": policy.namespace, "labels": labels},
        "spec": {
            "backoffLimit": 0,  # execflow retries attempts itself
            "ttlSecondsAfterFinished": FINISHED_TTL_S,
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }


def secret_manifest(
    work: StepWork, nonce: str, policy: JobPolicy, env: dict[str, str] | None = None
) -> dict[str, Any] | None:
    """The Secret of this delivery of the attempt: the values of the secrets its step
    names, under the keys its Job refers to; None when it names none."""
    values = secret_values(work, env or {})
    if not values:
        return None
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret_name(job_name(work, nonce)),
            "namespace": policy.namespace,
            "labels": job_labels(work, policy),
        },
        "type": "Opaque",
        # Written once: nothing changes it, and kubelets need not watch it.
        "immutable": True,
        "stringData": {secret_key(variable): value for variable, value in values.items()},
    }


def owned_by_job(job: str, uid: str) -> dict[str, Any]:
    """A patch of the Secret's metadata making it the Job's (set once the Job exists, the
    uid being the Job's): Kubernetes deletes it with the Job, after the Job's TTL too."""
    owner = {"apiVersion": "batch/v1", "kind": "Job", "name": job, "uid": uid}
    return {"metadata": {"ownerReferences": [owner]}}
