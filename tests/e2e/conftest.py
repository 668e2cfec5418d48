"""The four services as separate processes, on the test servers, behind a real API."""

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from execflow_catalogue.secrets import SecretsKey
from execflow_contracts import Topology
from execflow_devstack import NatsServer, ServiceProcess, Stack, StackConfig, free_port
from execflow_ops.access import make_key
from execflow_ops.privileges import Passwords, admin_nats_url, nats_authorization, passwords_in
from execflow_ops.provision import provision
from execflow_ops.up import least_privilege

TERMINAL = {"completed", "failed", "cancelled", "timed_out"}
# Short enough for tests to see a stop escalate to SIGKILL and a lost runner's lease lapse;
# a secrets key, as `execflow up` gives its stack one.
STACK_ENV = {
    "EXECFLOW_STOP_GRACE_S": "1",
    "EXECFLOW_LEASE_S": "3",
    "EXECFLOW_SECRETS_KEY": SecretsKey.generate(),
}


@contextlib.contextmanager
def running_stack(
    nats_url: str,
    database_url: str,
    home: Path,
    extra_env: dict[str, str] | None = None,
    service_env: dict[str, dict[str, str]] | None = None,
) -> Iterator[Stack]:
    """The four services on a fresh prefix and schema; their logs printed at the end.
    With EXECFLOW_TEST_LEAST_PRIVILEGE=1, as `execflow up` starts them: on a nats-server
    of the stack's own with a user per service, each service a role of its own."""
    token = f"e{uuid.uuid4().hex[:12]}"
    with contextlib.ExitStack() as servers:
        least = os.environ.get("EXECFLOW_TEST_LEAST_PRIVILEGE") == "1"
        passwords = passwords_in(home) if least else None
        if passwords is not None:
            authorization = nats_authorization(Topology(token), passwords)
            # Beside the stack's folder, which tests search for what must be gone.
            store = home.with_name(f"{home.name}-nats")
            server = NatsServer(
                store / "data", log_file=store / "nats.log", authorization=authorization
            ).start()
            servers.callback(server.stop)
            nats_url = admin_nats_url(server.url, passwords)
        with _stack(nats_url, database_url, home, token, passwords, extra_env, service_env) as s:
            yield s


@contextlib.contextmanager
def _stack(
    nats_url: str,
    database_url: str,
    home: Path,
    token: str,
    passwords: Passwords | None,
    extra_env: dict[str, str] | None,
    service_env: dict[str, dict[str, str]] | None,
) -> Iterator[Stack]:
    provision(nats_url, database_url, token, token)
    config = StackConfig(
        nats_url=nats_url,
        database_url=database_url,
        db_schema=token,
        bus_prefix=token,
        api_port=free_port(),
        work_dir=home / "workspaces",
        log_dir=home / "logs",
        extra_env=STACK_ENV | (extra_env or {}),
        service_env=service_env or {},
        # Auth is on, as it is by default: the tests' clients send an admin key.
        api_key=make_key(database_url, token, name="tests"),
    )
    if passwords is not None:
        least_privilege(config, passwords, own_nats=True, own_db=True)
    running = Stack(config).start()
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()
        for log in sorted((home / "logs").glob("*.log")):
            print(f"--- {log.name}\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def stack(
    nats_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with running_stack(nats_url, database_url, tmp_path_factory.mktemp("stack")) as running:
        yield running


@contextlib.contextmanager
def runner_on(stack: Stack, queues: str, worker_id: str = "", capacity: int = 4) -> Iterator[str]:
    """One more runner of the stack, on `queues` (keys: `gpu`, `team-a/gpu`); its id.
    A namespace's work runs only on runners told its queues."""
    worker_id = worker_id or f"r-{uuid.uuid4().hex[:8]}"
    env = {
        "EXECFLOW_QUEUES": queues,
        "EXECFLOW_WORKER_ID": worker_id,
        "EXECFLOW_CAPACITY": str(capacity),
    }
    process = ServiceProcess("runner", stack.config, env).start()
    try:
        yield worker_id
    finally:
        process.kill()


@pytest.fixture
def api(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=stack.config.api_url, timeout=10, headers=stack.config.api_headers
    ) as client:
        yield client


def wait_until(
    api: httpx.Client,
    execution_id: str,
    done: Callable[[dict[str, Any]], bool],
    timeout_s: float = 20,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = api.get(f"/api/v1/executions/{execution_id}")
        if response.status_code == 200:
            body = response.json()
            if done(body):
                return body
        time.sleep(0.05)
    raise AssertionError(f"execution {execution_id} did not get there in {timeout_s}s: {body}")


def wait_finished(api: httpx.Client, execution_id: str, timeout_s: float = 20) -> dict[str, Any]:
    return wait_until(api, execution_id, lambda b: b["status"] in TERMINAL, timeout_s)


def wait_status(
    api: httpx.Client, execution_id: str, status: str, timeout_s: float = 20
) -> dict[str, Any]:
    return wait_until(api, execution_id, lambda b: b["status"] == status, timeout_s)


def create(api: httpx.Client, body: dict[str, Any], **headers: str) -> str:
    response = api.post("/api/v1/executions", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def sh(step_id: str, script: str, *needs: str, **extra: Any) -> dict[str, Any]:
    """A step running `script` with sh."""
    return {"id": step_id, "needs": list(needs), "run": {"command": ["sh", "-c", script]}, **extra}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes: its parent has not reaped it yet. (It may also
    # be reaped between the two looks: then reading its stat fails.)
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def step_processes(execution_id: str) -> dict[int, int]:
    """The live processes of an execution's steps, each host pid with its pid inside its
    step's namespace (the one `$$` says in a sandboxed step): found by the execution id
    in their environment (bubblewrap's own, which have it too, left out)."""
    marker = f"EXECFLOW_EXECUTION_ID={execution_id}".encode()
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            status = (entry / "status").read_text()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if status.startswith("Name:\tbwrap\n"):
            continue
        nspid = next(ln for ln in status.splitlines() if ln.startswith("NSpid:")).split()
        if alive(int(entry.name)):
            found[int(entry.name)] = int(nspid[-1])
    return found


def host_pid(execution_id: str, inner_pid: int) -> int:
    """The host pid of the step process that says `inner_pid` is its pid."""
    found: list[int] = []

    def seen() -> bool:
        found[:] = [h for h, i in step_processes(execution_id).items() if i == inner_pid]
        return len(found) == 1

    wait_for(seen, 10, f"process {inner_pid} of {execution_id}")
    return found[0]


def wait_for(predicate: Callable[[], bool], timeout_s: float = 20, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def logs_until(
    api: httpx.Client,
    execution_id: str,
    done: Callable[[list[dict[str, Any]]], bool],
    timeout_s: float = 10,
) -> list[dict[str, Any]]:
    """The execution's log lines once `done` holds: lines are projected apart from events,
    so they may reach the read model a moment after the execution's end."""
    lines: list[dict[str, Any]] = []

    def ready() -> bool:
        nonlocal lines
        lines = api.get(f"/api/v1/executions/{execution_id}/logs").json()["items"]
        return done(lines)

    wait_for(ready, timeout_s, f"the log lines of {execution_id}")
    return lines
