"""A function worker's settings: `EXECFLOW_*` variables, or the values a program passes."""

import os
import socket
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from execflow_artifacts import ArtifactSettings
from execflow_contracts import DEFAULT_NAMESPACE, NamespaceName, Topology, WorkerId


def _default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class WorkerSettings(ArtifactSettings):
    """`EXECFLOW_ARTIFACTS_URL` must name the store the API serves artifacts from."""

    model_config = SettingsConfigDict(env_prefix="EXECFLOW_", extra="ignore")

    nats_url: str = "nats://127.0.0.1:4222"
    # The deployment's prefix of streams and subjects (as its services have it).
    bus_prefix: str = "execflow"
    # The namespace whose queues the worker serves: `run(queues=...)` names its queues,
    # and a queue belongs to its namespace (another's `gpu` is another queue).
    namespace: NamespaceName = DEFAULT_NAMESPACE
    # This worker's key in the worker registry.
    worker_id: WorkerId = Field(default_factory=_default_worker_id)
    # A step whose worker stops heartbeating for this long goes to another worker.
    lease_s: float = Field(default=30.0, gt=0)
    # The registry forgets a silent worker after this (it beats every third of it).
    worker_ttl_s: float = Field(default=15.0, ge=1.0)
    # A call asked to stop (a cancel, a timeout) is given this long to stop by itself.
    stop_grace_s: float = Field(default=10.0, ge=0)
    # `Worker.run`'s event loop: libuv's (uvloop), or the standard library's.
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"

    @property
    def topology(self) -> Topology:
        return Topology(self.bus_prefix)
