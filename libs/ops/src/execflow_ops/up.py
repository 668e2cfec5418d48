"""`execflow up`: the embedded stack, from a data folder that survives restarts."""

import shutil
import signal
import threading
import time

from execflow_devstack import EmbeddedPostgres, NatsServer, Stack, StackConfig, ensure_database
from execflow_platform import DEFAULT_STREAM_BUDGET, STREAM_BUDGET_VARIABLE

from .provision import provision
from .settings import UpSettings

RESTART_DELAY_S = 1.0


def up(settings: UpSettings | None = None) -> None:
    settings = settings or UpSettings()
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    nats: NatsServer | None = None
    postgres: EmbeddedPostgres | None = None
    nats_url = settings.nats_url
    if not nats_url:
        nats = NatsServer(data_dir / "nats", settings.nats_port, data_dir / "nats.log").start()
        nats_url = nats.url
    database_url = settings.database_url
    if not database_url:
        postgres = EmbeddedPostgres(data_dir / "postgres").start()
        database_url = ensure_database(postgres.url(), "execflow")
    # JetStream reserves the streams' byte limits: on a small disk, a small budget.
    budget = settings.stream_budget_bytes or min(
        DEFAULT_STREAM_BUDGET, shutil.disk_usage(data_dir).free // 4
    )
    config = StackConfig(
        nats_url=nats_url,
        database_url=database_url,
        db_schema=settings.db_schema,
        bus_prefix=settings.bus_prefix,
        api_host=settings.api_host,
        api_port=settings.api_port,
        work_dir=settings.workspaces,
        service_env=settings.service_env(),
        extra_env={STREAM_BUDGET_VARIABLE: str(budget)},
    )
    stack: Stack | None = None
    try:
        provision(nats_url, database_url, config.db_schema, config.bus_prefix, budget)
        stack = Stack(config).start()
        stack.wait_ready()
        print(f"execflow is up: API {config.api_url}  (OpenAPI docs: {config.api_url}/docs)")
        for name, env in config.service_env.items():
            print(f"  {name} metrics: http://127.0.0.1:{env['EXECFLOW_METRICS_PORT']}/metrics")
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
