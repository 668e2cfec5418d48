"""kontinue's Execution resource on execflow: created, listed, described and watched with
kubectl itself (`--server` pointing at execflow; $EXECFLOW_KUBECTL, else the kubectl on
PATH: Debian's `kubernetes-client` in CI, where EXECFLOW_REQUIRE_KUBECTL=1 makes its
absence a failure); phases, attempts and policies through the API; the CLI's execute,
list and show."""

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from execflow_devstack import Stack

from ..conftest import running_stack, wait_for

EXECFLOW = str(Path(sys.executable).parent / "execflow")
COLLECTION = "/apis/kontinue.cloud/v1alpha1/namespaces/default/executions"


@pytest.fixture(scope="module")
def stack(
    nats_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """A stack of its own, with auth off: kubectl (client-go) sends no bearer token over
    plain HTTP, and these tests serve HTTP. Behind HTTPS (EXECFLOW_API_TLS_CERT) kubectl
    sends its token and kontinue's routes take it as any route does (test_access checks
    that they ask for one)."""
    home = tmp_path_factory.mktemp("kontinue")
    with running_stack(nats_url, database_url, home, {"EXECFLOW_AUTH": "off"}) as running:
        yield running


@pytest.fixture(scope="module")
def kubectl_binary() -> str:
    found = os.environ.get("EXECFLOW_KUBECTL") or shutil.which("kubectl")
    if found is None:
        reason = "no kubectl (Debian's kubernetes-client package)"
        if os.environ.get("EXECFLOW_REQUIRE_KUBECTL") == "1":
            pytest.fail(f"EXECFLOW_REQUIRE_KUBECTL=1, but {reason}")
        pytest.skip(reason)
    return found


class Kubectl:
    def __init__(self, binary: str, server: str, home: Path, token: str | None) -> None:
        self.argv = [binary, f"--server={server}", *([f"--token={token}"] if token else [])]
        self.env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}  # its discovery cache

    def __call__(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.argv, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            env=self.env,
            check=False,
        )

    def json(self, *args: str) -> Any:
        done = self(*args, "-o", "json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def kubectl(kubectl_binary: str, stack: Stack, tmp_path: Path) -> Kubectl:
    return Kubectl(kubectl_binary, stack.config.api_url, tmp_path, stack.config.api_key)


def register(api: httpx.Client, *steps: dict[str, Any], **extra: Any) -> str:
    function = f"fn-{uuid.uuid4().hex[:8]}"
    body = {"id": function, "steps": list(steps), **extra}
    assert api.post("/api/v1/workflows", json=body).status_code == 201
    return function


def sh(step_id: str, script: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "run": {"command": ["sh", "-c", script]}, **extra}


def manifest(function: str, name: str | None = None, **spec: Any) -> str:
    meta = {"name": name} if name else {"generateName": f"{function}-"}
    document = {
        "apiVersion": "kontinue.cloud/v1alpha1",
        "kind": "Execution",
        "metadata": meta | {"labels": {"suite": function}},
        "spec": {"function": function, **spec},
    }
    return json.dumps(document)


def phase(api: httpx.Client, name: str) -> str | None:
    response = api.get(f"{COLLECTION}/{name}")
    return str(response.json()["status"]["phase"]) if response.status_code == 200 else None


def test_kubectl_creates_gets_describes_and_watches(api: httpx.Client, kubectl: Kubectl) -> None:
    function = register(api, sh("greet", 'echo "hello {{ inputs.name }}"'))
    created = kubectl("create", "-f", "-", stdin=manifest(function, arguments={"name": "Alice"}))
    assert created.returncode == 0, created.stderr
    name = created.stdout.split()[0].removeprefix("execution.kontinue.cloud/")
    assert name.startswith(f"{function}-") and len(name) == len(function) + 6
    wait_for(lambda: phase(api, name) == "Completed", what=f"{name} completed")

    table = kubectl("get", "executions")
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["NAME", "FUNCTION", "PHASE", "WORKER", "ATTEMPTS", "AGE"]
    row = next(r.split() for r in rows if r.split()[0] == name)
    assert row[1:3] == [function, "Completed"] and row[4] == "1"

    found = kubectl.json("get", "execution", name)
    assert (found["apiVersion"], found["kind"]) == ("kontinue.cloud/v1alpha1", "Execution")
    assert found["metadata"]["generateName"] == f"{function}-"
    assert found["metadata"]["labels"] == {"suite": function}
    assert found["spec"] == {"function": function, "arguments": {"name": "Alice"}}
    status = found["status"]
    assert status["phase"] == "Completed" and status["workerName"] == row[3]
    assert [a["phase"] for a in status["attempts"]] == ["Completed"]
    assert status["startedAt"] <= status["finishedAt"]
    assert kubectl.json("get", "executions", "-l", f"suite={function}")["items"][0] == found
    assert kubectl.json("get", "executions", "-l", "suite=none")["items"] == []

    described = kubectl("describe", "execution", name)
    assert described.returncode == 0, described.stderr
    for line in (f"Name:         {name}", "Function:  " + function, "Phase:"):
        assert line in described.stdout, described.stdout

    # A watch sees a new execution come and complete.
    watching = subprocess.Popen(
        [*kubectl.argv, "get", "executions", "-l", f"suite={function}", "--watch"],
        stdout=subprocess.PIPE,
        text=True,
        env=kubectl.env,
    )
    try:
        time.sleep(1)
        again = manifest(function, name=f"{function}-two", arguments={"name": "Bob"})
        second = kubectl("create", "-f", "-", stdin=again)
        assert second.returncode == 0, second.stderr
        wait_for(lambda: phase(api, f"{function}-two") == "Completed", what="the second done")
        time.sleep(2)  # the watch reads every second
    finally:
        watching.terminate()
        output, _ = watching.communicate(timeout=10)
    header, *lines = [line.split() for line in output.splitlines()]
    assert header[:3] == ["NAME", "FUNCTION", "PHASE"]
    assert lines[0][:3] == [name, function, "Completed"]  # listed
    changes = [line[2] for line in lines[1:] if line[0] == f"{function}-two"]
    assert changes[-1] == "Completed", output
    assert set(changes[:-1]) <= {"Pending", "Executing"}, output


def test_kubectl_hears_refusals_as_a_server_says_them(api: httpx.Client, kubectl: Kubectl) -> None:
    function = register(api, sh("a", "true"))
    named = manifest(function, name=f"{function}-once")
    assert kubectl("create", "-f", "-", stdin=named).returncode == 0
    again = kubectl("create", "-f", "-", stdin=named)
    assert again.returncode == 1
    assert f'executions.kontinue.cloud "{function}-once" already exists' in again.stderr
    typo = kubectl(
        "create",
        "-f",
        "-",
        stdin=manifest(function, name="typo", retry={"retries": 1, "bakoff": "1s"}),
    )
    assert typo.returncode == 1
    assert 'The Execution "typo" is invalid' in typo.stderr
    assert "spec.retry.bakoff" in typo.stderr
    unknown = kubectl("create", "-f", "-", stdin=manifest("no-such-function", name="lost"))
    assert "spec.function" in unknown.stderr and "no-such-function" in unknown.stderr
    missing = kubectl("get", "execution", "nothing-here")
    assert missing.returncode == 1
    assert 'executions.kontinue.cloud "nothing-here" not found' in missing.stderr


def test_a_name_is_taken_once_and_read_once_created(api: httpx.Client) -> None:
    """As an API server's storage does: of creates of one name sent together, one is
    created and the others hear AlreadyExists, though none is in the read model yet;
    and what a create made is there to read as soon as it is answered."""
    function = register(api, sh("a", "true"))
    for attempt in range(3):
        name = f"{function}-race{attempt}"
        with ThreadPoolExecutor(3) as pool:
            bodies = [manifest(function, name=name)] * 3
            answers = list(pool.map(lambda body: api.post(COLLECTION, content=body), bodies))
        assert sorted(a.status_code for a in answers) == [201, 409, 409], answers
        for refused in (a.json() for a in answers if a.status_code == 409):
            assert refused["reason"] == "AlreadyExists"
            assert refused["message"] == f'executions.kontinue.cloud "{name}" already exists'
        read = api.get(f"{COLLECTION}/{name}")
        assert read.status_code == 200, read.text
        assert read.json()["metadata"]["uid"] == next(
            a.json()["metadata"]["uid"] for a in answers if a.status_code == 201
        )


def test_a_create_the_scheduler_does_not_answer_is_a_timeout(
    api: httpx.Client, stack: Stack
) -> None:
    """A create stored but not yet decided may still make its execution, or be refused:
    the server says it cannot tell (504 Timeout), not 201. Decided later, it stands."""
    function = register(api, sh("a", "true"))
    name = f"{function}-late"
    stack.services["scheduler"].kill()
    try:
        late = api.post(COLLECTION, content=manifest(function, name=name), timeout=60)
    finally:
        stack.services["scheduler"].start()
    assert late.status_code == 504, late.text
    assert (late.json()["reason"], late.json()["details"]["name"]) == ("Timeout", name)
    wait_for(lambda: phase(api, name) == "Completed", timeout_s=60, what=f"{name} completed")
    again = api.post(COLLECTION, content=manifest(function, name=name))
    assert (again.status_code, again.json()["reason"]) == (409, "AlreadyExists")


def create(api: httpx.Client, function: str, **spec: Any) -> str:
    name = f"{function}-{uuid.uuid4().hex[:5]}"
    response = api.post(COLLECTION, content=manifest(function, name=name, **spec))
    assert response.status_code == 201, response.text
    assert response.json()["metadata"]["name"] == name
    return name


def test_retries_back_off_then_fail_with_every_attempt(api: httpx.Client) -> None:
    function = register(api, sh("flaky", "echo no; exit 3"))
    name = create(api, function, retry={"retries": 2, "backoff": "1s"}, ttl={"deleteAfter": "1h"})
    phases: set[str | None] = set()
    wait_for(lambda: phases.add(phase(api, name)) or "Failed" in phases, what="the last failure")
    assert "Backoff" in phases
    status = api.get(f"{COLLECTION}/{name}").json()["status"]
    assert [a["phase"] for a in status["attempts"]] == ["Failed", "Failed", "Failed"]
    assert "retrying in 1.0s" in status["attempts"][0]["message"]
    assert status["message"] == "step 'flaky' failed: exited with code 3"
    own = api.get(f"/api/v1/executions/{status_uid(api, name)}").json()
    assert own["workflow"]["ttl"]["delete_after"] == 3600.0
    assert [a["attempt"] for a in own["attempts"]] == [1, 2, 3]


def status_uid(api: httpx.Client, name: str) -> str:
    return str(api.get(f"{COLLECTION}/{name}").json()["metadata"]["uid"])


def test_suspended_while_it_waits_for_input_or_a_child(api: httpx.Client) -> None:
    asks = register(api, {"id": "ok", "type": "input", "prompt": "go?"})
    waiting = create(api, asks)
    wait_for(lambda: phase(api, waiting) == "Suspended", what="suspended on input")
    answered = api.post(f"/api/v1/executions/{status_uid(api, waiting)}/resume", json={"input": 1})
    assert answered.status_code == 202
    wait_for(lambda: phase(api, waiting) == "Completed", what="completed once answered")

    child = {"steps": [sh("slow", "sleep 3")]}
    parent = register(api, {"id": "sub", "type": "child", "workflow": child})
    name = create(api, parent, retry={"retries": 1, "childPolicy": "RetryFailed"})
    wait_for(lambda: phase(api, name) == "Suspended", what="suspended on its child")
    own = api.get(f"/api/v1/executions/{status_uid(api, name)}").json()
    assert own["workflow"]["steps"][0]["retry"]["max_attempts"] == 2  # children retried too
    wait_for(lambda: phase(api, name) == "Completed", timeout_s=20, what="completed")


def test_execute_interactive_list_and_show(stack: Stack, api: httpx.Client) -> None:
    function = register(
        api,
        {"id": "approve", "type": "input", "prompt": "deploy?", "schema": {"type": "object"}},
        {
            **sh("deploy", "echo {{ inputs.env }} {{ steps.approve.output.ok }}"),
            "needs": ["approve"],
        },
    )
    done = subprocess.run(
        [EXECFLOW, "execute", function, "--arg", "env=prod", "--interactive"],
        input='"not an object"\n{"ok": true}\n',
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "EXECFLOW_API_URL": stack.config.api_url,
            "COLUMNS": "200",
            "PATH": "/usr/bin:/bin",
            **stack.config.env_for_clients(),
        },
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "step approve asks: deploy?" in done.stdout
    assert "not taken: input: 'not an object' is not of type 'object'" in done.stderr
    assert "execution: completed" in done.stdout
    execution_id = done.stdout.split()[1]

    listed = subprocess.run(
        [EXECFLOW, "list", "--workflow", function, "--json", "--api", stack.config.api_url],
        env=os.environ | stack.config.env_for_clients(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert [e["id"] for e in json.loads(listed.stdout)["items"]] == [execution_id]

    name = create(api, function)
    shown = subprocess.run(
        [EXECFLOW, "show", name, "--json", "--api", stack.config.api_url],
        env=os.environ | stack.config.env_for_clients(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(shown.stdout)["metadata"]["kontinue.name"] == name
    unknown = subprocess.run(
        [EXECFLOW, "show", "nobody", "--api", stack.config.api_url],
        env=os.environ | stack.config.env_for_clients(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: no execution named 'nobody': give its id"
