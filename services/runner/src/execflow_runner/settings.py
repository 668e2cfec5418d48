"""The runner's settings."""

import os
import socket
from pathlib import Path

from pydantic import Field

from execflow_platform import ServiceSettings


def _default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class RunnerSettings(ServiceSettings):
    # Comma-separated queues this runner takes work from.
    queues: str = "default"
    # Steps run at once, at most.
    capacity: int = 16
    # A step whose runner stops heartbeating for this long is given to another runner.
    lease_s: float = 30.0
    # Each execution gets a workspace folder here, shared by its steps.
    work_dir: Path = Path(".execflow/workspaces")
    # A stopped step gets SIGTERM, then SIGKILL after this long.
    stop_grace_s: float = 10.0
    worker_id: str = Field(default_factory=_default_worker_id)

    @property
    def queue_names(self) -> list[str]:
        return [q.strip() for q in self.queues.split(",") if q.strip()]
