"""A stack of its own for the chaos run: NATS and PostgreSQL as processes it can kill
and restart from their data folders, the four services, a standby scheduler, and a
supervisor that restarts what dies (as `execflow up` does)."""

import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from execflow_devstack import (
    EmbeddedPostgres,
    NatsServer,
    ServiceProcess,
    Stack,
    StackConfig,
    ensure_database,
    free_port,
)
from execflow_platform.locks import SCHEDULER_WRITER

from ..access import make_key
from ..provision import provision

SCHEMA = PREFIX = "chaos"
RESTART_DELAY_S = 1.0
STREAM_BUDGET = 2 * 1024**3


@dataclass(frozen=True)
class Timings:
    lease_s: float = 5.0  # a silent runner's work goes to another after this
    takeover_s: float = 6.0  # a silent writer's lock is taken over after this
    stop_grace_s: float = 2.0

    def env(self) -> dict[str, str]:
        return {
            "EXECFLOW_LEASE_S": str(self.lease_s),
            "EXECFLOW_WRITER_TAKEOVER_S": str(self.takeover_s),
            "EXECFLOW_STOP_GRACE_S": str(self.stop_grace_s),
            "EXECFLOW_COMMAND_ACK_WAIT_S": "5",
            "EXECFLOW_WORKER_TTL_S": "6",
            # Its own server: room for every event of the run, none dropped.
            "EXECFLOW_STREAM_BUDGET_BYTES": str(STREAM_BUDGET),
        }


class Cluster:
    def __init__(self, home: Path, timings: Timings) -> None:
        self.home = home
        self.timings = timings
        self.nats = NatsServer(home / "nats", free_port(), home / "nats.log")
        self.postgres = EmbeddedPostgres(home / "pg")
        self.stack: Stack | None = None
        self.standby: ServiceProcess | None = None
        self._stopping = threading.Event()
        self._paused: set[int] = set()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)

    @property
    def config(self) -> StackConfig:
        assert self.stack is not None, "start() first"
        return self.stack.config

    def start(self) -> "Cluster":
        self.nats.start()
        self.postgres.start()
        database_url = ensure_database(self.postgres.url(), "chaos")
        provision(self.nats.url, database_url, SCHEMA, PREFIX, STREAM_BUDGET)
        config = StackConfig(
            nats_url=self.nats.url,
            database_url=database_url,
            db_schema=SCHEMA,
            bus_prefix=PREFIX,
            api_port=free_port(),
            work_dir=self.home / "workspaces",
            log_dir=self.home / "logs",
            extra_env=self.timings.env() | {"EXECFLOW_ARTIFACTS_URL": str(self.home / "art")},
            api_key=make_key(database_url, SCHEMA, name="chaos"),
        )
        self.stack = Stack(config).start()
        self.stack.wait_ready()
        self.standby = ServiceProcess("scheduler", config).start()
        self._supervisor.start()
        return self

    def services(self) -> list[ServiceProcess]:
        assert self.stack is not None and self.standby is not None
        return [*self.stack.services.values(), self.standby]

    def kill(self, name: str) -> None:
        """SIGKILL a service (the serving scheduler, for `scheduler`)."""
        if name == "scheduler":
            os.kill(self.writer_pid(), signal.SIGKILL)
        else:
            assert self.stack is not None
            self.stack.services[name].kill()

    def restart_nats(self, down_s: float, wipe: bool = False) -> None:
        self.nats.kill()
        if wipe:
            shutil.rmtree(self.nats.store_dir)
        time.sleep(down_s)
        self.nats.start()

    def restart_postgres(self, down_s: float) -> None:
        self.postgres.crash()
        time.sleep(down_s)
        self.postgres.restart()

    def pause_writer(self, paused_s: float) -> None:
        """SIGSTOP the serving scheduler for `paused_s`, then SIGCONT it: a frozen VM."""
        pid = self.writer_pid()
        self._paused.add(pid)
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(paused_s)
        finally:
            os.kill(pid, signal.SIGCONT)
            self._paused.discard(pid)

    def writer_pid(self, timeout_s: float = 60.0) -> int:
        """The process of the scheduler that holds the writer lock (it names itself in
        the lock's session)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.config.database_url, connect_timeout=2) as conn:
                    row = conn.execute(
                        "SELECT a.application_name FROM pg_locks l"
                        " JOIN pg_stat_activity a ON a.pid = l.pid"
                        " WHERE l.locktype = 'advisory' AND l.classid = %s"
                        " AND l.objid = hashtext(%s)::oid AND l.granted",
                        (SCHEDULER_WRITER, SCHEMA),
                    ).fetchone()
                if row and row[0].startswith("execflow-scheduler:"):
                    return int(row[0].rsplit(":", 1)[1])
            except psycopg.Error:
                pass
            time.sleep(0.2)
        raise TimeoutError("no scheduler holds the writer lock")

    def stop(self) -> None:
        self._stopping.set()
        if self._supervisor.is_alive():
            self._supervisor.join(5)
        if self.stack is not None:
            self.stack.stop()
        if self.standby is not None:
            self.standby.stop()
        self.nats.stop()
        self.postgres.stop()

    def _supervise(self) -> None:
        while not self._stopping.wait(0.5):
            for service in self.services():
                if not service.alive and not self._stopping.is_set():
                    time.sleep(RESTART_DELAY_S)
                    service.start()
