"""deploy/README.md's steps for servers of your own, followed with real processes: an
operator's nats-server and PostgreSQL (a database owned by a role that is no superuser),
`execflow migrate` and `execflow privileges env` run as the operator runs them, the
nats-server restarted with deploy/nats/nats.conf beside the authorization it includes,
and each service started with its own env file and nothing else of a credential. A
workflow runs end to end there, and the parts' credentials are refused what is not
theirs. (compose and Kubernetes run the same files; no stack of theirs runs here.)"""

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import nats
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from execflow_contracts import Topology
from execflow_devstack import SERVICES, EmbeddedPostgres, NatsServer, Stack, StackConfig, free_port
from execflow_ops.deployment import ADMIN, AUTHORIZATION_FILE, read_env_file
from execflow_ops.privileges import Passwords
from execflow_ops.secrets_key import VARIABLE as SECRETS_KEY_VARIABLE
from execflow_platform import STREAM_BUDGET_VARIABLE
from execflow_worker import Context, Worker

from .conftest import STACK_ENV, create, logs_until, sh, wait_finished
from .test_function_workers import Numbers, Total, fn, serving
from .test_least_privilege import FORGED_EVENT, insert_as, refused, stored

pytestmark = pytest.mark.e2e

SCHEMA = PREFIX = "execflow"
DEPLOY = Path(__file__).parents[2] / "deploy"
OWNER, OWNER_PASSWORD = "deployer", f"owner-{uuid.uuid4().hex}"
# What an operator sets besides credentials: quick stops and leases for the tests, a
# stream budget that fits a test machine's disk (no secrets key: the files hold it).
SETTINGS = {k: v for k, v in STACK_ENV.items() if k != SECRETS_KEY_VARIABLE} | {
    STREAM_BUDGET_VARIABLE: str(1024**3)
}


@dataclass
class Deployment:
    stack: Stack
    secrets: Path  # what `execflow privileges env` wrote
    nats_port: int

    def env(self, part: str) -> dict[str, str]:
        return read_env_file(self.secrets / f"{part}.env")


def owned_database(postgres: EmbeddedPostgres) -> str:
    """A database and the role that owns it (may make roles, is no superuser), as an
    operator gives one to an application; its URL."""
    with psycopg.connect(postgres.url(), autocommit=True) as conn:
        role, password = sql.Identifier(OWNER), sql.Literal(OWNER_PASSWORD)
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD {}").format(role, password))
        conn.execute(sql.SQL("CREATE DATABASE execflow OWNER {}").format(role))
    return make_conninfo(postgres.url("execflow"), user=OWNER, password=OWNER_PASSWORD)


def execflow(*args: str, env: dict[str, str]) -> str:
    """The `execflow` command, as the operator runs it; what it printed."""
    command = [str(Path(sys.executable).parent / "execflow"), *args]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


def operators_env(nats_url: str, database_url: str) -> dict[str, str]:
    """The operator's shell: the servers as admin and owner, no credential of a test's."""
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    inherited = {k: v for k, v in os.environ.items() if k in keep}
    return inherited | {"EXECFLOW_NATS_URL": nats_url, "EXECFLOW_DATABASE_URL": database_url}


@contextlib.contextmanager
def deployed(home: Path) -> Iterator[Deployment]:
    superuser = uuid.uuid4().hex
    postgres = EmbeddedPostgres(home / "postgres", cleanup="delete", password=superuser).start()
    # The operator's nats-server as it was before execflow: JetStream, anyone let in.
    before = home / "nats-before.conf"
    before.write_text("jetstream: enabled\n")
    port = free_port()
    store, log = home / "nats", home / "nats.log"
    nats_server = NatsServer(store, port, log, config_file=before).start()
    secrets = home / "secrets"
    try:
        operator = operators_env(f"nats://127.0.0.1:{port}", owned_database(postgres))
        execflow("migrate", env=operator)
        execflow("privileges", "env", "--out", str(secrets), "--admin-key", env=operator)
        # README: include the authorization in the server's config and restart it.
        shutil.copy(DEPLOY / "nats/nats.conf", secrets / "nats.conf")
        nats_server.stop()
        nats_server = NatsServer(store, port, log, config_file=secrets / "nats.conf").start()
        config = StackConfig(
            # Nothing for all services alike: each gets its URLs from its own file.
            nats_url="",
            database_url="",
            api_port=free_port(),
            work_dir=home / "workspaces",
            log_dir=home / "logs",
            extra_env=SETTINGS,
            service_env={name: read_env_file(secrets / f"{name}.env") for name in SERVICES},
        )
        stack = Stack(config).start()
        try:
            stack.wait_ready()
            yield Deployment(stack, secrets, port)
        finally:
            stack.stop()
            for path in sorted((home / "logs").glob("*.log")):
                print(f"--- {path.name}\n{path.read_text()[-3000:]}")
    finally:
        nats_server.stop()
        postgres.stop()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with deployed(tmp_path_factory.mktemp("deployment")) as running:
        yield running


@pytest.fixture
def api(deployment: Deployment) -> Iterator[httpx.Client]:
    key = deployment.env(ADMIN)["EXECFLOW_API_KEY"]
    headers = {"Authorization": f"Bearer {key}"}
    url = deployment.stack.config.api_url
    with httpx.Client(base_url=url, timeout=10, headers=headers) as client:
        yield client


def test_a_workflow_runs_end_to_end_on_a_deployment_made_as_the_readme_says(
    api: httpx.Client,
) -> None:
    steps = [sh("hello", "echo hello from a step"), sh("after", "echo done", "hello")]
    execution_id = create(api, {"workflow": {"steps": steps}})
    body = wait_finished(api, execution_id)
    assert body["status"] == "completed", body
    assert [s["status"] for s in body["steps"]] == ["succeeded", "succeeded"]
    lines = logs_until(api, execution_id, lambda lines: len(lines) >= 2)
    assert {line["line"] for line in lines} >= {"hello from a step", "done"}


def test_each_service_holds_its_env_files_credentials_and_no_others(
    deployment: Deployment,
) -> None:
    known = Passwords(deployment.secrets / "passwords.json").known()
    for service, process in deployment.stack.services.items():
        assert process.pid is not None
        environ = Path(f"/proc/{process.pid}/environ").read_bytes().decode(errors="replace")
        own = {f"nats:{service}", f"postgres:{SCHEMA}_{service}"}
        for name, secret in known.items():
            assert (secret in environ) == (name in own), (service, name)
        assert OWNER_PASSWORD not in environ, service
        assert deployment.env(ADMIN)["EXECFLOW_API_KEY"] not in environ, service


def test_the_runners_credentials_cannot_publish_an_event_nor_the_api_role_write_the_store(
    deployment: Deployment,
) -> None:
    topology = Topology(PREFIX)
    event = topology.event(uuid.uuid4(), "ExecutionCompleted")
    runner = deployment.env("runner")["EXECFLOW_NATS_URL"]
    admin = deployment.env(ADMIN)["EXECFLOW_NATS_URL"]
    assert asyncio.run(refused(runner, event)) is not None
    assert asyncio.run(stored(admin, topology.events_stream, event)) == 0
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        insert_as(deployment.env("api")["EXECFLOW_DATABASE_URL"], SCHEMA, FORGED_EVENT)
    # The scheduler's may: the grants are not a blanket refusal.
    insert_as(deployment.env("scheduler")["EXECFLOW_DATABASE_URL"], SCHEMA, FORGED_EVENT)


def test_the_restarted_nats_server_lets_no_one_in_without_credentials(
    deployment: Deployment,
) -> None:
    assert (deployment.secrets / AUTHORIZATION_FILE).exists()
    anonymous = f"nats://127.0.0.1:{deployment.nats_port}"
    with pytest.raises(nats.errors.Error, match=r"(?i)authorization violation"):
        asyncio.run(nats.connect(anonymous, allow_reconnect=False, connect_timeout=2))


def test_a_function_worker_serves_with_the_worker_env_file(
    deployment: Deployment, api: httpx.Client
) -> None:
    env = deployment.env("worker")
    worker = Worker(
        nats_url=env["EXECFLOW_NATS_URL"],
        bus_prefix=env["EXECFLOW_BUS_PREFIX"],
        worker_id=f"w-{uuid.uuid4().hex[:8]}",
        stop_grace_s=1.0,
        lease_s=5.0,
    )
    queue = f"q{uuid.uuid4().hex[:8]}"

    @worker.function("add")
    async def add(args: Numbers, ctx: Context) -> Total:
        return Total(total=args.a + args.b)

    with serving(worker, queue):
        body = {"workflow": {"steps": [fn("f", "add", queue, args={"a": 2, "b": 3})]}}
        finished = wait_finished(api, create(api, body))
    assert finished["status"] == "completed", finished
    assert finished["output"] == {"f": {"total": 5}}
