"""The API's settings."""

from pathlib import Path
from typing import Literal

from pydantic import Field

from execflow_catalogue.keys import SecretsSettings
from execflow_platform import ArtifactSettings, ServiceSettings

# Where `make dashboard` builds the front end, beside this package's sources.
BUILT_DASHBOARD = Path(__file__).resolve().parents[2] / "frontend" / "dist"


class ApiSettings(ServiceSettings, ArtifactSettings, SecretsSettings):
    """Also the secrets keys (`SecretsSettings`): it seals secrets, opens them for
    remote agents, and re-seals them under a new key (`POST /api/v1/secrets/rotate`)."""

    api_host: str = "127.0.0.1"
    api_port: int = 8080
    # Serve HTTPS with this certificate and key (PEM files): a Kubernetes aggregated API
    # (kontinue's Execution, deploy/kubernetes/kontinue-apiservice.yaml) must.
    api_tls_cert: str | None = None
    api_tls_key: str | None = None
    # A request body larger than this is refused (413) before it is parsed: a command
    # must fit in one bus message (1 MiB by default) anyway. A remote agent's artifact
    # upload is bounded by `EXECFLOW_ARTIFACT_MAX_BYTES` instead.
    api_max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    # Read connections held open for queries.
    db_pool_size: int = 8
    # On stop, open streams (SSE) get this long to end before they are cut.
    shutdown_grace_s: int = 2
    # Live streams read again on the projector's change notices, and at least this often
    # (what a lost notice can cost). Each idle stream reads once per interval: 300 idle
    # streams cost the API 8% of a core and PostgreSQL 3% at 1 s, 3% and 2% at 5 s.
    live_fallback_s: float = 5.0
    # The Docker Engine API the environments endpoints manage; unset, DOCKER_HOST or the
    # local socket. It should be the runners' engine.
    docker_host: str | None = None
    # A remote agent's lease (and the bus's ack wait of the queues it takes work from;
    # runners of those queues use the same `EXECFLOW_LEASE_S`).
    lease_s: float = 30.0
    # The built dashboard served at `/` (see services/api/frontend).
    dashboard_dir: Path = BUILT_DASHBOARD
    # Remote agents are listed in the worker registry while they call: their entries
    # lapse after this, as a silent runner's do (runners use the same `EXECFLOW_WORKER_TTL_S`).
    worker_ttl_s: float = Field(default=15.0, ge=1.0)
    # API keys: every route but health and docs asks for one. `off` lets anyone do
    # anything (as an admin of `default`): said at start and in /readyz.
    auth: Literal["on", "off"] = "on"
    # A key once checked (argon2, slow by design) is taken without a check this long.
    auth_cache_s: float = Field(default=30.0, ge=0.0)
