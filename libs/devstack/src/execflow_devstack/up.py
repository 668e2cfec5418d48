"""`execflow up`: the embedded stack, from a data folder that survives restarts."""

import os
import signal
import threading
import time
from pathlib import Path

from .nats_server import NatsServer
from .postgres import EmbeddedPostgres, ensure_database
from .processes import Stack, StackConfig
from .provision import provision

DEFAULT_NATS_PORT = 4222
RESTART_DELAY_S = 1.0


def up() -> None:
    data_dir = Path(os.environ.get("EXECFLOW_DATA_DIR", ".execflow")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    nats: NatsServer | None = None
    postgres: EmbeddedPostgres | None = None
    nats_url = os.environ.get("EXECFLOW_NATS_URL")
    if not nats_url:
        port = int(os.environ.get("EXECFLOW_NATS_PORT", DEFAULT_NATS_PORT))
        nats = NatsServer(data_dir / "nats", port, data_dir / "nats.log").start()
        nats_url = nats.url
    database_url = os.environ.get("EXECFLOW_DATABASE_URL")
    if not database_url:
        postgres = EmbeddedPostgres(data_dir / "postgres").start()
        database_url = ensure_database(postgres.url(), "execflow")
    config = StackConfig(
        nats_url=nats_url,
        database_url=database_url,
        db_schema=os.environ.get("EXECFLOW_DB_SCHEMA", "execflow"),
        bus_prefix=os.environ.get("EXECFLOW_BUS_PREFIX", "execflow"),
        api_host=os.environ.get("EXECFLOW_API_HOST", "127.0.0.1"),
        api_port=int(os.environ.get("EXECFLOW_API_PORT", "8080")),
        work_dir=Path(os.environ.get("EXECFLOW_WORK_DIR", data_dir / "workspaces")),
    )
    stack: Stack | None = None
    try:
        provision(nats_url, database_url, config.db_schema, config.bus_prefix)
        stack = Stack(config).start()
        stack.wait_ready()
        print(f"execflow is up: API {config.api_url}  (OpenAPI docs: {config.api_url}/docs)")
        print(f"data in {data_dir}; NATS {nats_url}; Ctrl-C stops everything", flush=True)
        _supervise(stack)
    finally:
        print("execflow: stopping", flush=True)
        if stack is not None:
            stack.stop()
        if nats is not None:
            nats.stop()
        if postgres is not None:
            postgres.stop()


def _supervise(stack: Stack) -> None:
    """Restart a service that dies, until SIGINT or SIGTERM."""
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    while not stopping.wait(0.5):
        for service in stack.services.values():
            if not service.alive:
                print(f"execflow: {service.name} exited; restarting", flush=True)
                time.sleep(RESTART_DELAY_S)
                service.start()
