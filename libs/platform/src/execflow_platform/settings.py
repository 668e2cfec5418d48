"""The settings every service shares; each service extends them with its own."""

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from execflow_contracts import Topology
from execflow_telemetry import LogFormat

EventLoop = Literal["uvloop", "asyncio"]


class ServiceSettings(BaseSettings):
    """Read once at start from `EXECFLOW_*` variables; tests pass their own values."""

    model_config = SettingsConfigDict(env_prefix="EXECFLOW_", extra="ignore")

    nats_url: str = "nats://127.0.0.1:4222"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/execflow"
    # PostgreSQL schema holding the event store and the read models.
    db_schema: str = "execflow"
    # Prefix of every stream and subject, so deployments can share a NATS server.
    bus_prefix: str = "execflow"
    log_level: str = "INFO"
    # "text" (readable lines) or "json" (one object a line, with the execution, step,
    # trace and span of each line where known).
    log_format: LogFormat = "text"
    # Where the service serves Prometheus metrics at /metrics: unset, nowhere (the api
    # serves them on its own port regardless); 0, a free port (logged at start).
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # The asyncio event loop implementation: libuv's (uvloop) or the standard library's.
    event_loop: EventLoop = "uvloop"

    @property
    def topology(self) -> Topology:
        return Topology(self.bus_prefix)
