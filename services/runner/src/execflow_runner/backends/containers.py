"""How a step attempt becomes a container: image, command, workspace, limits, labels.

Pure: it builds the Docker SDK's arguments and reads labels back; `docker.py` does the I/O.
"""

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from execflow_contracts import (
    ATTEMPT_LABEL,
    DEPLOYMENT_LABEL,
    EXECUTION_LABEL,
    NAMESPACE_LABEL,
    STEP_LABEL,
    WORKER_LABEL,
    StepWork,
    namespace_of,
)

from .base import AttemptKey, step_variables, workdir_in

# Where every container of an execution finds the execution's workspace.
WORKSPACE = "/workspace"
# Who a container step runs as, unless it says: not root (nobody, on Debian).
NOT_ROOT = "65534:65534"


@dataclass(frozen=True)
class ContainerPolicy:
    """The runner's side of every container: who owns it, and the defaults it runs with."""

    worker_id: str
    deployment: str  # the bus prefix: deployments sharing an engine never touch each other's
    network: str = "bridge"
    default_cpus: float | None = None
    default_memory: str | int | None = None
    default_pids: int | None = None
    # The user steps run as unless they say otherwise.
    user: str = NOT_ROOT
    # Images steps may use (shell patterns, `python:3.*`, `registry.example.com/*`);
    # empty: any.
    images: tuple[str, ...] = ()

    def allows(self, image: str) -> bool:
        """Whether the allow-list lets a step run (or pull) `image`, as the step names it."""
        return not self.images or any(fnmatch.fnmatchcase(image, p) for p in self.images)

    def refusal(self, image: str) -> str | None:
        """Why a step may not run `image` here; None if it may."""
        if self.allows(image):
            return None
        allowed = ", ".join(self.images)
        return f"image {image!r} is not allowed here (EXECFLOW_DOCKER_IMAGES: {allowed})"

    def owned(self) -> list[str]:
        """Label filters matching every container of this deployment."""
        return [f"{DEPLOYMENT_LABEL}={self.deployment}"]

    def of_step(self, execution_id: UUID, step_id: str) -> list[str]:
        return [*self.owned(), f"{EXECUTION_LABEL}={execution_id}", f"{STEP_LABEL}={step_id}"]

    def labels(self, work: StepWork) -> dict[str, str]:
        key = AttemptKey.of(work)
        return {
            DEPLOYMENT_LABEL: self.deployment,
            EXECUTION_LABEL: key.execution_id,
            STEP_LABEL: key.step_id,
            ATTEMPT_LABEL: key.attempt,
            WORKER_LABEL: self.worker_id,
            NAMESPACE_LABEL: namespace_of(work.namespace),
        }

    def memory_limit(self, work: StepWork) -> str | int | None:
        resources = work.run.resources
        return resources.memory if resources and resources.memory else self.default_memory


def container_options(
    work: StepWork, workspace: Path, policy: ContainerPolicy, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Keyword arguments of `client.containers.create` for this attempt."""
    run = work.run
    resources = run.resources
    cpus = resources.cpus if resources and resources.cpus else policy.default_cpus
    pids = resources.pids if resources and resources.pids else policy.default_pids
    memory = policy.memory_limit(work)
    # Inside the workspace, or ValueError (checked on the host, where the folder is).
    workdir = workdir_in(workspace, run.workdir).relative_to(workspace)
    return {
        "image": run.image,
        "command": run.command,
        "environment": step_variables(work, WORKSPACE) | (env or {}) | run.literal_env,
        "working_dir": WORKSPACE if workdir == Path() else f"{WORKSPACE}/{workdir.as_posix()}",
        "volumes": {str(workspace): {"bind": WORKSPACE, "mode": "rw"}},
        "labels": policy.labels(work),
        "network_mode": policy.network if run.network else "none",
        # An init process as PID 1 passes SIGTERM on and reaps zombies, so `stop` works
        # on commands that were never written to be PID 1.
        "init": True,
        "nano_cpus": int(cpus * 1e9) if cpus else None,
        "mem_limit": memory,
        # Swap as large as memory means none: the limit is the limit.
        "memswap_limit": memory,
        "pids_limit": pids,
        # What a process step's sandbox does too: no capabilities, nothing gained by
        # exec (setuid programs), not root unless the step asks.
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "user": run.user or policy.user,
    }
