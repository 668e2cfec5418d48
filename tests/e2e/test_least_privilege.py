"""Least privilege between the parts, on a stack started as `execflow up` starts one:
its own nats-server with a user per service, its own embedded PostgreSQL asking every
role for its password (SCRAM), a role per service. A part's credentials do what that
part does, and are refused the rest; the lifecycle runs end to end all the same."""

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import psycopg
import pytest
from nats.aio.client import Client

from execflow_contracts import Topology
from execflow_devstack import EmbeddedPostgres, NatsServer, Stack, StackConfig, free_port
from execflow_ops.access import make_key
from execflow_ops.privileges import (
    POSTGRES_SUPERUSER,
    Passwords,
    admin_nats_url,
    nats_authorization,
    passwords_in,
    worker_nats_url,
)
from execflow_ops.provision import provision
from execflow_ops.up import least_privilege
from execflow_platform import connect, schema_conninfo
from execflow_worker import Context, Worker

from .conftest import STACK_ENV, create, logs_until, sh, wait_finished
from .test_function_workers import Numbers, Total, fn, serving

pytestmark = pytest.mark.e2e

SCHEMA = PREFIX = "execflow"


@contextlib.contextmanager
def least_privileged_stack(home: Path) -> Iterator[tuple[Stack, Passwords]]:
    passwords = passwords_in(home)
    topology = Topology(PREFIX)
    nats_server = NatsServer(
        home / "nats",
        log_file=home / "nats.log",
        max_file_store="10TB",
        authorization=nats_authorization(topology, passwords),
    ).start()
    postgres = EmbeddedPostgres(
        home / "postgres", cleanup="delete", password=passwords.of("postgres", POSTGRES_SUPERUSER)
    ).start()
    try:
        nats_url = admin_nats_url(nats_server.url, passwords)
        database_url = postgres.url()
        provision(nats_url, database_url, SCHEMA, PREFIX)
        config = StackConfig(
            nats_url=nats_url,
            database_url=database_url,
            db_schema=SCHEMA,
            bus_prefix=PREFIX,
            api_port=free_port(),
            work_dir=home / "workspaces",
            log_dir=home / "logs",
            extra_env=STACK_ENV,
            api_key=make_key(database_url, SCHEMA, name="tests"),
        )
        least_privilege(config, passwords, own_nats=True, own_db=True)
        stack = Stack(config).start()
        try:
            stack.wait_ready()
            yield stack, passwords
        finally:
            stack.stop()
            for log in sorted((home / "logs").glob("*.log")):
                print(f"--- {log.name}\n{log.read_text()[-3000:]}")
    finally:
        nats_server.stop()
        postgres.stop()


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Passwords]]:
    with least_privileged_stack(tmp_path_factory.mktemp("secured")) as running:
        yield running


@pytest.fixture
def stack(secured: tuple[Stack, Passwords]) -> Stack:
    return secured[0]


@pytest.fixture
def api(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=stack.config.api_url, timeout=10, headers=stack.config.api_headers
    ) as client:
        yield client


def own(stack: Stack, service: str, variable: str) -> str:
    return stack.config.service_env[service][variable]


async def refused(url: str, subject: str) -> str | None:
    """Publish `subject` with `url`'s credentials; what the server objected, if it did."""
    errors: list[str] = []

    async def on_error(error: Exception) -> None:
        errors.append(str(error))

    nc: Client = await nats.connect(url, error_cb=on_error, max_reconnect_attempts=0)
    try:
        await nc.publish(subject, b"{}")
        await nc.flush()
        await asyncio.sleep(0.3)  # the server's -ERR comes after the PONG
    finally:
        await nc.close()
    return next((e for e in errors if "permissions violation" in e.lower()), None)


async def stored(admin_url: str, stream: str, subject: str) -> int:
    nc = await connect(admin_url, "test-inspect")
    try:
        info = await nc.jetstream().stream_info(stream, subjects_filter=subject)
        return sum((info.state.subjects or {}).values())
    finally:
        await nc.close()


def test_a_workflow_runs_end_to_end_with_each_part_on_its_own_credentials(
    stack: Stack, api: httpx.Client
) -> None:
    urls = {service: own(stack, service, "EXECFLOW_NATS_URL") for service in stack.services}
    assert len(set(urls.values())) == len(urls)  # four users, none the admin
    assert stack.config.nats_url not in urls.values()
    assert own(stack, "runner", "EXECFLOW_DATABASE_URL") != stack.config.database_url
    steps = [sh("hello", "echo hello from a step"), sh("after", "echo done", "hello")]
    execution_id = create(api, {"workflow": {"steps": steps}})
    body = wait_finished(api, execution_id)
    assert body["status"] == "completed", body
    assert [s["status"] for s in body["steps"]] == ["succeeded", "succeeded"]
    lines = logs_until(api, execution_id, lambda lines: len(lines) >= 2)
    assert {line["line"] for line in lines} >= {"hello from a step", "done"}
    cancelled = create(api, {"workflow": {"steps": [sh("long", "sleep 30")]}})
    assert api.post(f"/api/v1/executions/{cancelled}/cancel", json={}).status_code == 202
    assert wait_finished(api, cancelled)["status"] == "cancelled"


def test_a_function_worker_serves_its_functions_as_the_worker_user(
    secured: tuple[Stack, Passwords], api: httpx.Client
) -> None:
    stack, passwords = secured
    worker = Worker(
        nats_url=worker_nats_url(stack.config.nats_url, passwords),
        bus_prefix=stack.config.bus_prefix,
        worker_id=f"w-{uuid.uuid4().hex[:8]}",
        stop_grace_s=1.0,
        lease_s=5.0,
    )
    queue = f"q{uuid.uuid4().hex[:8]}"

    @worker.function("add")
    async def add(args: Numbers, ctx: Context) -> Total:
        ctx.progress(1, 1, "adding")
        ctx.logger.info("adding %d and %d", args.a, args.b)
        return Total(total=args.a + args.b)

    with serving(worker, queue):
        execution_id = create(
            api, {"workflow": {"steps": [fn("f", "add", queue, args={"a": 1, "b": 2})]}}
        )
        body = wait_finished(api, execution_id)
    assert body["status"] == "completed", body
    assert body["output"] == {"f": {"total": 3}}
    lines = logs_until(api, execution_id, lambda lines: len(lines) >= 1)
    assert any("adding 1 and 2" in line["line"] for line in lines)


def test_a_step_finds_no_credential_in_its_environment(
    secured: tuple[Stack, Passwords], api: httpx.Client
) -> None:
    stack, passwords = secured
    execution_id = create(api, {"workflow": {"steps": [sh("env", "env > env.txt")]}})
    assert wait_finished(api, execution_id)["status"] == "completed"
    seen = (stack.config.work_dir / execution_id / "env.txt").read_text()
    assert "EXECFLOW_EXECUTION_ID" in seen  # it did write its environment
    secrets = passwords.known()
    assert len(secrets) == 11  # the admin and five parts on NATS, a superuser and 4 roles
    for name, secret in secrets.items():
        assert secret not in seen, f"the {name} password is in a step's environment"
    assert "nats://" not in seen and "EXECFLOW_NATS_URL" not in seen
    assert "EXECFLOW_DATABASE_URL" not in seen and "EXECFLOW_API_KEY" not in seen
    assert stack.config.api_key not in seen


def test_each_service_holds_its_own_credentials_only(
    secured: tuple[Stack, Passwords],
) -> None:
    stack, passwords = secured
    mine = {
        "runner": {"nats:runner", f"postgres:{SCHEMA}_runner"},
        "api": {"nats:api", f"postgres:{SCHEMA}_api"},
    }
    for service, own_secrets in mine.items():
        pid = stack.services[service].pid
        environ = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
        for name, secret in passwords.known().items():
            assert (secret in environ) == (name in own_secrets), (service, name)
        assert "EXECFLOW_API_KEY" not in environ and stack.config.api_key not in environ


def test_a_runner_cannot_publish_an_event_nor_the_api_work(stack: Stack) -> None:
    topology = Topology(PREFIX)
    event = topology.event(uuid.uuid4(), "ExecutionCompleted")
    work = topology.work("default")
    runner, api = own(stack, "runner", "EXECFLOW_NATS_URL"), own(stack, "api", "EXECFLOW_NATS_URL")
    assert asyncio.run(refused(runner, event)) is not None
    assert asyncio.run(stored(stack.config.nats_url, topology.events_stream, event)) == 0
    assert asyncio.run(refused(api, work)) is not None
    assert asyncio.run(refused(api, event)) is not None
    # What they do is let through: the api sends commands, the scheduler events.
    command = topology.command(uuid.uuid4(), "CancelExecution")
    assert asyncio.run(refused(api, command)) is None
    scheduler = own(stack, "scheduler", "EXECFLOW_NATS_URL")
    assert asyncio.run(refused(scheduler, event)) is None
    assert asyncio.run(stored(stack.config.nats_url, topology.events_stream, event)) == 1


def test_nats_refuses_a_client_without_credentials(stack: Stack) -> None:
    anonymous = stack.config.nats_url.split("@")[-1]
    with pytest.raises(nats.errors.Error, match=r"(?i)authorization violation"):
        asyncio.run(nats.connect(f"nats://{anonymous}", allow_reconnect=False, connect_timeout=2))


FORGED_EVENT = (
    "INSERT INTO execflow_events (originator_id, originator_version, topic, state)"
    " VALUES (gen_random_uuid(), 1, 'forged', 'x')"
)


def insert_as(database_url: str, schema: str, statement: str) -> None:
    """Run `statement` as `database_url`'s role, then roll it back."""
    with psycopg.connect(schema_conninfo(database_url, schema)) as conn:
        conn.execute(statement)
        conn.rollback()


def test_the_api_role_cannot_write_the_event_store_nor_the_projector_the_catalogue(
    stack: Stack,
) -> None:
    def insert(service: str, statement: str) -> None:
        insert_as(own(stack, service, "EXECFLOW_DATABASE_URL"), SCHEMA, statement)

    event = FORGED_EVENT
    workflow = (
        "INSERT INTO workflow_definitions (workflow_id, version, definition, digest)"
        " VALUES ('forged', 1, '{}', 'x')"
    )
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        insert("api", event)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        insert("projector", workflow)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        insert("projector", event)
    # Their own tables they may write (the statements are rolled back).
    insert("scheduler", event)
    insert("api", workflow)


def test_the_runner_role_reads_the_sealed_secrets_and_nothing_else(stack: Stack) -> None:
    url = own(stack, "runner", "EXECFLOW_DATABASE_URL")
    with psycopg.connect(schema_conninfo(url, SCHEMA)) as conn:
        conn.execute("SELECT count(*) FROM secrets").fetchone()
    for table in ("execflow_events", "executions", "api_keys", "workflow_definitions"):
        with (
            pytest.raises(psycopg.errors.InsufficientPrivilege),
            psycopg.connect(schema_conninfo(url, SCHEMA)) as conn,
        ):
            conn.execute(f"SELECT 1 FROM {table} LIMIT 1")
    with (
        pytest.raises(psycopg.errors.InsufficientPrivilege),
        psycopg.connect(schema_conninfo(url, SCHEMA)) as conn,
    ):
        conn.execute("DELETE FROM secrets")


def test_the_embedded_database_asks_every_role_for_its_password(stack: Stack) -> None:
    url = own(stack, "api", "EXECFLOW_DATABASE_URL")
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(psycopg.conninfo.make_conninfo(url, password="wrong")).close()
    superuser = stack.config.database_url
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(psycopg.conninfo.make_conninfo(superuser, password="")).close()


def test_a_step_on_a_least_privileged_runner_gets_its_secret(
    stack: Stack, api: httpx.Client
) -> None:
    name, value = f"token-{uuid.uuid4().hex[:6]}", f"v-{uuid.uuid4().hex}"
    assert api.put(f"/api/v1/secrets/{name}", json={"value": value}).status_code in (200, 201)
    step = sh("use", 'printf %s "$TOKEN" > token.txt')
    step["run"]["env"] = {"TOKEN": {"secret": name}}
    execution_id = create(api, {"workflow": {"steps": [step]}})
    assert wait_finished(api, execution_id)["status"] == "completed"
    assert (stack.config.work_dir / execution_id / "token.txt").read_text() == value
