"""Real servers for the tests: nats-server and PostgreSQL from the wheels (or the ones
EXECFLOW_NATS_URL / EXECFLOW_DATABASE_URL name), and fresh names for every test."""

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from execflow_devstack import EmbeddedPostgres, NatsServer, ensure_database
from execflow_ops.provision import provision
from execflow_platform.locks import SCHEDULER_WRITER

# Docker: the engine, the test image, cleaning up a test's containers.
# Each test declares a deployment's streams on the shared server, and JetStream reserves
# their byte limits: modest ones (the services the tests start inherit it), on a server
# told it may reserve more than its disk holds (the tests write little).
os.environ.setdefault("EXECFLOW_STREAM_BUDGET_BYTES", str(64 * 1024 * 1024))

from .docker_fixtures import busybox_image, deployment_cleanup, docker_client  # noqa: F401


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if url := os.environ.get("EXECFLOW_NATS_URL"):
        yield url
        return
    server = NatsServer(tmp_path_factory.mktemp("nats"), max_file_store="10TB").start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if url := os.environ.get("EXECFLOW_DATABASE_URL"):
        yield url
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", cleanup="delete").start()
    yield ensure_database(server.url(), "execflow_test")
    server.stop()


@dataclass(frozen=True)
class Names:
    """A test's own stream prefix and database schema."""

    prefix: str
    schema: str


@pytest.fixture
def names() -> Names:
    token = uuid.uuid4().hex[:12]
    return Names(prefix=f"t{token}", schema=f"t{token}")


@pytest.fixture
def provisioned(nats_url: str, database_url: str, names: Names) -> Names:
    provision(nats_url, database_url, names.schema, names.prefix)
    return names


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    return tmp_path / "workspaces"


def writer_lock_holders(database_url: str, schema: str) -> list[int]:
    """The server processes holding the scheduler's writer lock on `schema` (one at most)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory'"
            " AND classid = %s AND objid = hashtext(%s)::oid AND granted",
            (SCHEDULER_WRITER, schema),
        ).fetchall()
    return [pid for (pid,) in rows]


def terminate_session(database_url: str, pid: int) -> None:
    """End a server session, as a PostgreSQL restart or an operator would."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
