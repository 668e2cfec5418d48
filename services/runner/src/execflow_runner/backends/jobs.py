"""How a step attempt becomes a Kubernetes Job: its name, labels, container, workspace and
limits. Pure: it builds the manifest; `kubernetes.py` does the I/O.

The execution's workspace is a folder of a volume the runners share with the pods (a
PersistentVolumeClaim, ReadWriteMany), mounted at /workspace as the Docker backend does.
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


def job_manifest(
    work: StepWork,
    nonce: str,
    workspace: Path,
    policy: JobPolicy,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The Job of this delivery of the attempt. `env` holds runner paths under
    `workspace`, which the pod sees under /workspace."""
    run = work.run
    labels = policy.containers.labels(work) | {
        # A label value is at most 63 characters; the step's id may be 64.
        NO_NETWORK_LABEL: "false" if run.network else "true",
    }
    labels = {key: label_value(value) for key, value in labels.items()}
    inside = {k: v.replace(str(workspace), WORKSPACE) for k, v in (env or {}).items()}
    variables = step_variables(work, WORKSPACE) | inside | run.literal_env
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
        "env": [{"name": name, "value": value} for name, value in variables.items()],
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
        "metadata": {
            "name": job_name(work, nonce),
            "namespace": policy.namespace,
            "labels": labels,
        },
        "spec": {
            "backoffLimit": 0,  # execflow retries attempts itself
            "ttlSecondsAfterFinished": FINISHED_TTL_S,
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }
