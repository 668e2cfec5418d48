"""What `execflow up` reads from its environment, read once."""

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_NATS_PORT = 4222


class UpSettings(BaseSettings):
    """`EXECFLOW_*` variables. Without a NATS or database URL, `up` starts embedded
    servers in the data folder."""

    model_config = SettingsConfigDict(env_prefix="EXECFLOW_", extra="ignore")

    # Everything `up` keeps: NATS's and PostgreSQL's data, workspaces, artifacts.
    data_dir: Path = Path(".execflow")
    nats_url: str | None = None
    nats_port: int = DEFAULT_NATS_PORT  # the embedded server's
    database_url: str | None = None
    db_schema: str = "execflow"
    bus_prefix: str = "execflow"
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    work_dir: Path | None = None  # default: DATA_DIR/workspaces
    # The disk the streams may take (default: 8 GiB, or a quarter of the free disk).
    stream_budget_bytes: int | None = None
    # The scheduler serves its metrics on this port, the runner on the next one, the
    # projector on the one after (the api on its own port); unset: none of them.
    metrics_port: int | None = 9464
    # `off`: the API lets anyone do anything (said at start and in /readyz); `on`: the
    # first start makes an admin key and saves it where the CLI finds it.
    auth: Literal["on", "off"] = "on"

    def service_env(self) -> dict[str, dict[str, str]]:
        if self.metrics_port is None:
            return {}
        services = ("scheduler", "runner", "projector")
        return {
            name: {"EXECFLOW_METRICS_PORT": str(self.metrics_port + i)}
            for i, name in enumerate(services)
        }

    @property
    def workspaces(self) -> Path:
        return self.work_dir or self.data_dir.resolve() / "workspaces"
