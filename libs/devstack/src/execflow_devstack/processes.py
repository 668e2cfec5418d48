"""The four services as separate processes: start, stop, kill, restart."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

SERVICES = ("projector", "scheduler", "runner", "api")
# What a client is given and the services are not.
CLIENT_ONLY = frozenset({"EXECFLOW_API_KEY", "EXECFLOW_AGENT_TOKEN"})


@dataclass
class StackConfig:
    nats_url: str
    database_url: str
    db_schema: str = "execflow"
    bus_prefix: str = "execflow"
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    work_dir: Path = Path(".execflow/workspaces")
    log_dir: Path | None = None  # None: services log to this terminal
    extra_env: dict[str, str] = field(default_factory=dict)
    # Variables for one service only (say, the port of its metrics), by service name.
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    # An API key for clients of this stack (the CLI takes it as EXECFLOW_API_KEY).
    api_key: str | None = None

    @property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"

    @property
    def api_headers(self) -> dict[str, str]:
        """What a client sends to be let in (nothing without a key)."""
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def env_for_clients(self) -> dict[str, str]:
        """What the CLI (or an agent) needs in its environment to be let in."""
        return {"EXECFLOW_API_KEY": self.api_key} if self.api_key else {}

    def env(self) -> dict[str, str]:
        """The services' environment. No API key: no service uses one (the clients'
        is theirs, and a runner's environment is not the place for an admin's key)."""
        inherited = {k: v for k, v in os.environ.items() if k not in CLIENT_ONLY}
        return {
            **inherited,
            "EXECFLOW_NATS_URL": self.nats_url,
            "EXECFLOW_DATABASE_URL": self.database_url,
            "EXECFLOW_DB_SCHEMA": self.db_schema,
            "EXECFLOW_BUS_PREFIX": self.bus_prefix,
            "EXECFLOW_API_HOST": self.api_host,
            "EXECFLOW_API_PORT": str(self.api_port),
            "EXECFLOW_WORK_DIR": str(self.work_dir),
            "EXECFLOW_ARTIFACTS_URL": os.environ.get(
                "EXECFLOW_ARTIFACTS_URL", str(self.work_dir.parent.resolve() / "artifacts")
            ),
            **self.extra_env,
        }


class ServiceProcess:
    def __init__(self, name: str, config: StackConfig, env: dict[str, str] | None = None) -> None:
        self.name = name
        self._config = config
        self._env = env or {}
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def exit_code(self) -> int | None:
        """How it ended; None while it runs (or before it started)."""
        return self._process.poll() if self._process is not None else None

    def start(self) -> "ServiceProcess":
        out: int | object = None
        if self._config.log_dir is not None:
            self._config.log_dir.mkdir(parents=True, exist_ok=True)
            out = (self._config.log_dir / f"{self.name}.log").open("ab")
        self._process = subprocess.Popen(
            [sys.executable, "-m", f"execflow_{self.name}"],
            env=self._config.env() | self._env,
            stdout=out,  # type: ignore[arg-type]
            stderr=subprocess.STDOUT if out is not None else None,
        )
        return self

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything, as in a crash."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()

    def stop(self, timeout_s: float = 10.0) -> None:
        if not self.alive:
            return
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()


class Stack:
    """One process per service, started in an order that lets each find what it needs."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.services = {
            name: ServiceProcess(name, config, config.service_env.get(name)) for name in SERVICES
        }

    def start(self) -> "Stack":
        for service in self.services.values():
            service.start()
        return self

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            dead = [s.name for s in self.services.values() if not s.alive]
            if dead:
                raise RuntimeError(f"services exited during start: {', '.join(dead)}")
            try:
                with urllib.request.urlopen(f"{self.config.api_url}/readyz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"the API at {self.config.api_url} was not ready in {timeout_s}s")

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()
