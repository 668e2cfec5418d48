"""`execflow up`: the embedded stack, from a data folder that survives restarts."""

import os
import shlex
import shutil
import signal
import threading
import time
from pathlib import Path

from execflow.credentials import save_key, saved_key
from execflow_contracts import Topology
from execflow_devstack import EmbeddedPostgres, NatsServer, Stack, StackConfig, ensure_database
from execflow_platform import DEFAULT_STREAM_BUDGET, STREAM_BUDGET_VARIABLE

from .access import make_key, works
from .privileges import (
    POSTGRES_SUPERUSER,
    Passwords,
    admin_nats_url,
    grant,
    nats_authorization,
    passwords_in,
    service_env,
)
from .provision import provision
from .settings import UpSettings

RESTART_DELAY_S = 1.0


def up(settings: UpSettings | None = None) -> None:
    settings = settings or UpSettings()
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    passwords = passwords_in(data_dir)
    nats: NatsServer | None = None
    postgres: EmbeddedPostgres | None = None
    nats_url = settings.nats_url
    if not nats_url:
        # One user per service, each allowed its own subjects only; the admin's is ours.
        authorization = nats_authorization(Topology(settings.bus_prefix), passwords)
        log_file = data_dir / "nats.log"
        nats = NatsServer(
            data_dir / "nats", settings.nats_port, log_file, authorization=authorization
        ).start()
        nats_url = admin_nats_url(nats.url, passwords)
    database_url = settings.database_url
    if not database_url:
        superuser = passwords.of("postgres", POSTGRES_SUPERUSER)
        postgres = EmbeddedPostgres(data_dir / "postgres", password=superuser).start()
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
        least_privilege(config, passwords, own_nats=nats is not None, own_db=postgres is not None)
        admin_env = save_admin_env(data_dir, nats_url, database_url)
        key_note = admin_key(settings, config)
        stack = Stack(config).start()
        stack.wait_ready()
        print(f"execflow is up: API {config.api_url}  (OpenAPI docs: {config.api_url}/docs)")
        print(key_note)
        for name, env in settings.service_env().items():
            print(f"  {name} metrics: http://127.0.0.1:{env['EXECFLOW_METRICS_PORT']}/metrics")
        print(f"operator tools (execflow dead-letters|repair|migrate): . {admin_env}")
        where = nats.url if nats else nats_url
        print(f"data in {data_dir}; NATS {where}; Ctrl-C stops everything", flush=True)
        _supervise(stack)
    finally:
        print("execflow: stopping", flush=True)
        if stack is not None:
            stack.stop()
        if nats is not None:
            nats.stop()
        if postgres is not None:
            postgres.stop()


def least_privilege(
    config: StackConfig, passwords: Passwords, own_nats: bool, own_db: bool
) -> None:
    """Each service logs in to the servers `up` started as its own NATS user and
    database role; to servers it was given, with the URLs it was given (the operator's
    to split: see the README)."""
    admin_nats, admin_db = config.nats_url, config.database_url
    if own_db:
        grant(admin_db, config.db_schema, passwords)
    per_service = service_env(admin_nats, admin_db, config.db_schema, passwords)
    for name, env in per_service.items():
        own = {"EXECFLOW_NATS_URL": env["EXECFLOW_NATS_URL"]} if own_nats else {}
        if own_db:
            own["EXECFLOW_DATABASE_URL"] = env["EXECFLOW_DATABASE_URL"]
        config.service_env[name] = config.service_env.get(name, {}) | own


def save_admin_env(data_dir: Path, nats_url: str, database_url: str) -> Path:
    """The admin's URLs, for the operator's tools, as a file a shell can source (0600)."""
    path = data_dir / "admin.env"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(f"export EXECFLOW_NATS_URL={shlex.quote(nats_url)}\n")
        file.write(f"export EXECFLOW_DATABASE_URL={shlex.quote(database_url)}\n")
    return path


def admin_key(settings: UpSettings, config: StackConfig) -> str:
    """With auth on: an admin key the CLI finds (saved for this API's URL in the user's
    config folder, mode 0600), made on the first start or when the saved one no longer
    works; what to tell the user about it."""
    if settings.auth == "off":
        warning = (
            "WARNING: auth is OFF (EXECFLOW_AUTH=off): anyone who reaches the API may do anything"
        )
        print(warning, flush=True)
        return warning
    saved = saved_key(config.api_url)
    if saved is not None and works(config.database_url, config.db_schema, saved):
        config.api_key = saved
        return f"auth is on: the CLI uses the admin key saved in {credentials_path()}"
    key = make_key(config.database_url, config.db_schema, name="execflow up")
    path = save_key(config.api_url, key)
    config.api_key = key
    return (
        f"auth is on: a new admin key (namespace default) is saved in {path} (mode 0600),"
        f" where the CLI finds it. With curl:\n"
        f"  curl -H 'Authorization: Bearer {key}' {config.api_url}/api/v1/executions\n"
        f"More keys: execflow keys create --role reader|operator|admin|agent"
    )


def credentials_path() -> str:
    from execflow.credentials import credentials_file

    return str(credentials_file())


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
