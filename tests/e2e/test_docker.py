"""Docker steps, environments and the worker registry, end to end: the four services as
processes on a real Docker engine, through the HTTP API."""

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import docker
import httpx
import pytest

from execflow_catalogue.secrets import SecretsKey
from execflow_contracts import DEPLOYMENT_LABEL, EXECUTION_LABEL
from execflow_devstack import ServiceProcess, Stack

from .conftest import logs_until, running_stack, wait_finished, wait_status
from .test_access import client, key, namespace

T = TypeVar("T")
TTL_S = 3.0


@pytest.fixture(scope="module")
def stack(
    nats_url: str,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    docker_client: docker.DockerClient,
    busybox_image: str,
) -> Iterator[Stack]:
    env = {
        "EXECFLOW_DOCKER": "on",  # no engine: the runner fails at start, loudly
        "EXECFLOW_DOCKER_PULL": "false",
        "EXECFLOW_WORKER_TTL_S": str(TTL_S),
        "EXECFLOW_SECRETS_KEY": SecretsKey.generate(),
    }
    with running_stack(nats_url, database_url, tmp_path_factory.mktemp("dstack"), env) as s:
        try:
            yield s
        finally:
            for c in containers(docker_client, f"{DEPLOYMENT_LABEL}={s.config.bus_prefix}"):
                docker_client.api.remove_container(c["Id"], force=True)


def containers(client: docker.DockerClient, label: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.api.containers(all=True, filters={"label": label})
    return found


def eventually(check: Callable[[], T | None], timeout_s: float = 20, what: str = "") -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (result := check()) is not None:
            return result
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s}s: {what}")


def container_step(step_id: str, image: str, script: str, **extra: Any) -> dict[str, Any]:
    run = {"image": image, "command": ["sh", "-c", script], **extra.pop("run", {})}
    return {"id": step_id, "run": run, **extra}


def create(api: httpx.Client, *steps: dict[str, Any]) -> str:
    response = api.post("/api/v1/executions", json={"workflow": {"steps": list(steps)}})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def logs(api: httpx.Client, execution_id: str, step: str) -> list[str]:
    items = api.get(f"/api/v1/executions/{execution_id}/logs", params={"step": step}).json()
    return [line["line"] for line in items["items"]]


@contextlib.contextmanager
def extra_runner(stack: Stack, **env: str) -> Iterator[ServiceProcess]:
    """One more runner process on the stack's servers; killed at the end if still alive."""
    variables = {f"EXECFLOW_{k.upper()}": v for k, v in env.items()}
    process = ServiceProcess("runner", stack.config, variables).start()
    try:
        yield process
    finally:
        process.kill()


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def workers(api: httpx.Client) -> dict[str, dict[str, Any]]:
    response = api.get("/api/v1/workers")
    assert response.status_code == 200, response.text
    return {w["id"]: w for w in response.json()["items"]}


def test_container_steps_share_the_executions_workspace(
    api: httpx.Client, busybox_image: str
) -> None:
    began = time.monotonic()
    execution_id = create(
        api,
        container_step("write", busybox_image, "echo hello from write > note; hostname"),
        container_step("read", busybox_image, "cat /workspace/note; hostname", needs=["write"]),
    )
    body = wait_finished(api, execution_id)
    print(f"two container steps, submit to completed: {time.monotonic() - began:.2f}s")

    assert body["status"] == "completed", body
    # Log lines are projected apart from events: they may come a moment after the end.
    logs_until(api, execution_id, lambda lines: len(lines) >= 3)
    write, read = logs(api, execution_id, "write"), logs(api, execution_id, "read")
    assert read[0] == "hello from write"
    assert write[-1] != read[-1], "both steps ran in the same container"


def test_a_memory_limit_is_enforced(api: httpx.Client, busybox_image: str) -> None:
    hog = "x=$(head -c 100000000 /dev/zero | tr '\\000' x); echo survived"
    execution_id = create(
        api, container_step("hog", busybox_image, hog, run={"resources": {"memory": "16m"}})
    )
    body = wait_finished(api, execution_id)
    assert body["status"] == "failed"
    assert (body["error"]["step_id"], body["error"]["exit_code"]) == ("hog", 137)
    # The engine says OOMKilled when the kernel killed the container's main process; when
    # it killed a child of the shell first, the shell exits 137 and only that is known.
    assert body["error"]["message"] in (
        "out of memory: killed at its memory limit (16m)",
        "exited with code 137",
    )
    assert "survived" not in logs(api, execution_id, "hog")


def test_environments_list_a_running_steps_container_and_delete_removes_it(
    api: httpx.Client, stack: Stack, docker_client: docker.DockerClient, busybox_image: str
) -> None:
    execution_id = create(api, container_step("long", busybox_image, "sleep 300"))

    def listed() -> dict[str, Any] | None:
        items = api.get("/api/v1/environments").json()["items"]
        return next((e for e in items if e["execution_id"] == execution_id), None)

    environment = eventually(listed, what="the step's container listed")
    assert environment["kind"] == "container"
    assert environment["step_id"] == "long"
    assert environment["attempt"] == 1
    assert environment["worker"] in workers(api)  # a live runner's id
    assert environment["image"] == busybox_image
    assert environment["labels"]["execflow.execution"] == execution_id
    assert environment["labels"]["execflow.namespace"] == "default"
    # Another namespace's admin neither sees it nor removes it.
    with client(stack, key(api, "admin", namespace(api))) as other:
        assert execution_id not in other.get("/api/v1/environments").text
        assert other.delete(f"/api/v1/environments/{environment['id']}").status_code == 404
    assert listed() is not None

    assert api.delete(f"/api/v1/environments/{environment['id']}").status_code == 204
    assert listed() is None
    assert containers(docker_client, f"{EXECUTION_LABEL}={execution_id}") == []
    assert wait_finished(api, execution_id)["status"] == "failed"
    assert api.delete(f"/api/v1/environments/{environment['id']}").status_code == 404


def test_deleting_what_execflow_does_not_own_is_a_404(
    api: httpx.Client, docker_client: docker.DockerClient, busybox_image: str
) -> None:
    stranger = docker_client.containers.create(busybox_image, ["true"], labels={"app": "other"})
    try:
        response = api.delete(f"/api/v1/environments/{stranger.id}")
        assert response.status_code == 404, response.text
        stranger.reload()  # still there
        assert api.delete("/api/v1/environments/no-such-thing").status_code == 404
    finally:
        stranger.remove(force=True)


def test_a_runner_killed_with_sigkill_leaves_no_container_once_restarted(
    api: httpx.Client, stack: Stack, docker_client: docker.DockerClient, busybox_image: str
) -> None:
    token = uuid.uuid4().hex[:8]
    queue, worker_id = f"crash-{token}", f"crasher-{token}"
    # A long lease: the step must not come back to the new runner during the test.
    runner = {"queues": queue, "worker_id": worker_id, "lease_s": "120"}
    execution_id = create(api, container_step("long", busybox_image, "sleep 300", queue=queue))
    with extra_runner(stack, **runner) as first:
        (found,) = eventually(
            lambda: containers(docker_client, f"{EXECUTION_LABEL}={execution_id}") or None,
            what="the step's container",
        )
        first.kill()
    time.sleep(0.5)
    left = containers(docker_client, f"{EXECUTION_LABEL}={execution_id}")
    assert [c["Id"] for c in left] == [found["Id"]], "SIGKILL took the container with it"

    with extra_runner(stack, **runner):
        eventually(
            lambda: (
                True if not containers(docker_client, f"{EXECUTION_LABEL}={execution_id}") else None
            ),
            what="the orphan reaped by the restarted runner",
        )


def test_a_killed_runners_containers_are_reaped_by_another_once_it_expires(
    api: httpx.Client, stack: Stack, docker_client: docker.DockerClient, busybox_image: str
) -> None:
    token = uuid.uuid4().hex[:8]
    queue = f"crash-{token}"
    execution_id = create(api, container_step("long", busybox_image, "sleep 300", queue=queue))
    gone_id = f"gone-{token}"
    with extra_runner(stack, queues=queue, worker_id=gone_id, lease_s="120") as gone:
        eventually(
            lambda: containers(docker_client, f"{EXECUTION_LABEL}={execution_id}") or None,
            what="the step's container",
        )
        last_beat = at(workers(api)[gone_id]["last_heartbeat"])
        gone.kill()
    # Another runner, with its own id, reaping every second: once the dead one's
    # registration has expired (TTL) the container is an orphan.
    with extra_runner(
        stack, queues=f"other-{token}", worker_id=f"heir-{token}", docker_reap_interval_s="1"
    ):
        eventually(
            lambda: (
                True if not containers(docker_client, f"{EXECUTION_LABEL}={execution_id}") else None
            ),
            what="the orphan reaped by another runner",
        )
    silent_s = (datetime.now(UTC) - last_beat).total_seconds()
    assert silent_s >= TTL_S, "reaped while its runner still counted live"


def test_workers_lists_live_runners_and_forgets_stopped_and_killed_ones(
    api: httpx.Client, stack: Stack, busybox_image: str
) -> None:
    token = uuid.uuid4().hex[:8]
    stopping, killed = f"stopping-{token}", f"killed-{token}"
    with (
        extra_runner(stack, queues=f"a-{token},b-{token}", worker_id=stopping, capacity="3") as a,
        extra_runner(stack, queues=f"c-{token}", worker_id=killed) as b,
    ):
        eventually(lambda: workers(api).keys() >= {stopping, killed} or None, what="both listed")
        listed = workers(api)[stopping]
        assert listed["queues"] == [f"a-{token}", f"b-{token}"]
        assert listed["capacity"] == 3
        assert listed["backends"] == ["docker", "process"]
        assert listed["host"] and listed["pid"] == a.pid
        assert listed["n_running"] == 0

        execution_id = create(
            api, container_step("busy", busybox_image, "sleep 2", queue=f"b-{token}")
        )
        busy = eventually(
            lambda: workers(api)[stopping] if workers(api)[stopping]["n_running"] else None,
            what="the running step in the registry",
        )
        assert [(s["execution_id"], s["step_id"], s["backend"]) for s in busy["running"]] == [
            (execution_id, "busy", "docker")
        ]
        assert at(busy["last_heartbeat"]) > at(listed["last_heartbeat"])
        assert wait_finished(api, execution_id)["status"] == "completed"

        a.stop()  # a clean stop: it deletes its registration on the way out
        assert stopping not in workers(api)

        b.kill()  # no goodbye: it stays listed until its registration expires
        seen = [at(workers(api)[killed]["last_heartbeat"])]

        def expired() -> bool | None:
            listed = workers(api)
            if killed in listed:
                seen.append(at(listed[killed]["last_heartbeat"]))
                return None
            return True

        eventually(expired, what="expiry")
        silent_s = (datetime.now(UTC) - max(seen)).total_seconds()
        assert TTL_S <= silent_s <= TTL_S + 4


def test_cancelling_a_container_step_stops_and_removes_its_container(
    api: httpx.Client, docker_client: docker.DockerClient, busybox_image: str
) -> None:
    execution_id = create(api, container_step("long", busybox_image, "sleep 300"))
    label = f"{EXECUTION_LABEL}={execution_id}"
    eventually(lambda: containers(docker_client, label) or None, what="the step's container")
    wait_status(api, execution_id, "running")
    assert api.post(f"/api/v1/executions/{execution_id}/cancel").status_code == 202
    body = wait_finished(api, execution_id)
    assert body["status"] == "cancelled"
    assert body["stopped_steps"] == ["long"]
    eventually(lambda: containers(docker_client, label) == [] or None, what="the container removed")


def test_a_container_step_is_starting_while_its_container_is_made(
    api: httpx.Client, busybox_image: str
) -> None:
    # Making and starting a container outlasts the runner's 10 ms wait for the start:
    # the claim is reported on its own, and the execution is starting meanwhile.
    execution_id = create(api, container_step("boxed", busybox_image, "echo hi"))
    assert wait_finished(api, execution_id)["status"] == "completed"
    moves = api.get(f"/api/v1/executions/{execution_id}/transitions").json()["items"]
    starts = {m["to"]: m for m in moves if m["type"] == "start"}
    assert starts["starting"]["from"] == "queued" and starts["running"]["from"] == "starting"
    assert starts["starting"]["reason"].startswith("step 'boxed' taken by ")
    starting = datetime.fromisoformat(starts["starting"]["at"])
    running = datetime.fromisoformat(starts["running"]["at"])
    assert (running - starting).total_seconds() >= 0.01


def test_a_container_step_gets_its_secret_and_its_log_shows_the_mask(
    stack: Stack, api: httpx.Client, busybox_image: str
) -> None:
    value = f"s3cr3t-{uuid.uuid4().hex}"
    assert api.put("/api/v1/secrets/registry", json={"value": value}).status_code == 200
    step = container_step(
        "boxed",
        busybox_image,
        'echo "token=$TOKEN"; printf %s "$TOKEN" > seen.txt',
        run={"env": {"TOKEN": {"secret": "registry"}}},
    )
    execution_id = create(api, step)
    assert wait_finished(api, execution_id)["status"] == "completed"
    assert (stack.config.work_dir / execution_id / "seen.txt").read_text() == value
    assert logs_until(api, execution_id, bool)[0]["line"] == "token=***"
