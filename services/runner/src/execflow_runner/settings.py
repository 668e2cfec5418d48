"""The runner's settings."""

import os
import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from execflow_catalogue.keys import SecretsSettings
from execflow_contracts import ContainerUser, MemorySize, WorkerId, split_queue_key
from execflow_platform import ArtifactSettings, ServiceSettings


def _default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class RunnerSettings(ServiceSettings, ArtifactSettings, SecretsSettings):
    """Also the secrets keys (`SecretsSettings`), which open the secrets steps name
    (`env: {X: {secret: NAME}}`)."""

    # Comma-separated queues this runner takes work from: `gpu` is namespace default's
    # queue gpu, `team-a/gpu` namespace team-a's (a queue belongs to its namespace).
    queues: str = "default"
    # Steps run at once, at most.
    capacity: int = 16
    # A step whose runner stops heartbeating for this long is given to another runner.
    lease_s: float = 30.0
    # A step's log beyond this many bytes is dropped, with a line that says how much.
    step_log_max_bytes: int = 64 * 1024 * 1024
    # A step's work delivered this often, unfinished, fails its attempt as lost.
    work_max_deliver: int = 5
    # Each execution gets a workspace folder here, shared by its steps.
    work_dir: Path = Path(".execflow/workspaces")
    # A stopped step gets SIGTERM, then SIGKILL after this long.
    stop_grace_s: float = 10.0
    # Also this runner's key in the registry and the `execflow.worker` label of its
    # containers: a runner restarted with the same id reaps what its predecessor left.
    worker_id: WorkerId = Field(default_factory=_default_worker_id)
    # The registry forgets a runner this long after its last heartbeat (one every third
    # of it). It is the bucket's TTL, so every runner of a deployment should agree.
    worker_ttl_s: float = Field(default=15.0, ge=1.0)

    # Process steps: "bwrap" runs each under bubblewrap (namespaces of its own, the system
    # read-only, its workspace the one folder it writes, no network unless it asks);
    # "off" runs them as plain processes of the runner's user. The runner will not start
    # with "bwrap" where bubblewrap is missing or cannot work.
    sandbox: Literal["bwrap", "off"] = "bwrap"
    # Further folders sandboxed steps may read (comma-separated), besides the system's
    # (/usr, /etc, /bin, /lib…) and the runner's own Python.
    sandbox_read_only: str = ""

    # Docker: "auto" uses the engine if it answers at start, "on" insists, "off" never.
    docker: Literal["auto", "on", "off"] = "auto"
    # The Docker Engine API's address; unset, DOCKER_HOST or the local socket.
    docker_host: str | None = None
    # `docker stop` grace: SIGTERM, then SIGKILL this much later.
    docker_stop_grace_s: float = 10.0
    # The network a step that asks for one (`network: true`) is attached to.
    docker_network: str = "bridge"
    # Pull an image that is not present locally.
    docker_pull: bool = True
    # Limits of a container step whose `resources` leaves them unset (None: unlimited).
    docker_default_cpus: float | None = 2.0
    docker_default_memory: MemorySize | None = "2g"
    docker_default_pids: int | None = 1024
    # The user container steps run as unless they say (`user: root`); unset, the
    # runner's own uid:gid, or 65534:65534 (nobody) for a runner run as root.
    docker_user: ContainerUser | None = None
    # Images container steps may run or pull (comma-separated shell patterns:
    # `python:3.*,registry.example.com/*`); empty: any. Another image fails its step.
    docker_images: str = ""
    # How often the reaper looks for containers that no running step owns.
    docker_reap_interval_s: float = 60.0

    # Kubernetes: "on" runs container steps as Jobs (in place of Docker), through the
    # cluster's API (kubeconfig, or the pod's service account); "off" never. Untested
    # against a live cluster.
    kubernetes: Literal["on", "off"] = "off"
    kubernetes_namespace: str = "default"
    # The PersistentVolumeClaim (ReadWriteMany) mounted at this runner's `work_dir`: the
    # pods mount the execution's folder of it at /workspace.
    kubernetes_workspace_claim: str = "execflow-workspaces"
    kubernetes_service_account: str | None = None

    @property
    def sandbox_read_only_paths(self) -> list[Path]:
        return [Path(p.strip()) for p in self.sandbox_read_only.split(",") if p.strip()]

    @field_validator("queues")
    @classmethod
    def _queue_keys(cls, queues: str) -> str:
        for key in _split(queues):
            split_queue_key(key)  # a ValueError that names the one it cannot read
        return queues

    @property
    def queue_names(self) -> list[str]:
        """The queues' keys."""
        return _split(self.queues)


def _split(queues: str) -> list[str]:
    return [q.strip() for q in queues.split(",") if q.strip()]
