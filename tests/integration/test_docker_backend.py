"""The Docker backend against a real Docker engine: containers, limits, output, stop."""

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import pytest

from execflow_contracts import RunSpec, StepWork
from execflow_runner.backends import ContainerPolicy, DockerBackend, Outcome

pytestmark = pytest.mark.asyncio(loop_scope="function")


@pytest.fixture
def policy(deployment_cleanup: list[str]) -> ContainerPolicy:
    deployment = f"t{uuid.uuid4().hex[:12]}"
    deployment_cleanup.append(deployment)
    return ContainerPolicy(worker_id="tester", deployment=deployment, default_pids=64)


@pytest.fixture
def backend(docker_client: docker.DockerClient, policy: ContainerPolicy) -> Iterator[DockerBackend]:
    backend = DockerBackend(docker_client, policy, stop_grace_s=10, pull=False)
    yield backend
    backend.close()


def work(image: str, script: str, **run: Any) -> StepWork:
    return StepWork(
        execution_id=uuid.uuid4(),
        step_id="step",
        attempt=1,
        queue="default",
        run=RunSpec(command=["sh", "-c", script], image=image, **run),
        dispatched_at=datetime.now(UTC),
    )


class Output:
    """What a step printed, with when each line arrived."""

    def __init__(self) -> None:
        self.lines: list[tuple[float, str, str]] = []
        self.started = asyncio.Event()

    def add(self, stream: str, text: str) -> None:
        self.lines.append((time.monotonic(), stream, text))

    def text(self, stream: str = "stdout") -> list[str]:
        return [t for _, s, t in self.lines if s == stream]


async def run(backend: DockerBackend, step: StepWork, workspace: Path) -> tuple[Outcome, Output]:
    await asyncio.to_thread(workspace.mkdir, parents=True, exist_ok=True)
    output = Output()
    outcome = await backend.run(step, workspace, output.add, output.started.set)
    return outcome, output


async def until(check: Callable[[], object], timeout_s: float = 10) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {timeout_s}s")


def containers_of(client: docker.DockerClient, policy: ContainerPolicy) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.api.containers(all=True, filters={"label": policy.owned()})
    return found


async def test_a_step_runs_in_a_labelled_limited_container_that_is_removed_after(
    backend: DockerBackend,
    policy: ContainerPolicy,
    docker_client: docker.DockerClient,
    busybox_image: str,
    tmp_path: Path,
) -> None:
    step = work(
        busybox_image,
        "echo out; echo err >&2; pwd; echo $EXECFLOW_STEP_ID $GREETING; sleep 1",
        env={"GREETING": "hello"},
        resources={"cpus": 0.5, "memory": "64m", "pids": 32},
    )
    running = asyncio.create_task(run(backend, step, tmp_path / "ws"))
    await until(lambda: containers_of(docker_client, policy))
    container = docker_client.containers.get(containers_of(docker_client, policy)[0]["Id"])
    outcome, output = await running

    assert outcome == Outcome(exit_code=0)
    assert output.started.is_set()
    assert output.text("stdout") == ["out", "/workspace", "step hello"]
    assert output.text("stderr") == ["err"]
    assert container.labels == {
        "execflow.deployment": policy.deployment,
        "execflow.execution": str(step.execution_id),
        "execflow.step": "step",
        "execflow.attempt": "1",
        "execflow.worker": "tester",
        "execflow.namespace": "default",
    }
    host = container.attrs["HostConfig"]
    assert host["NanoCpus"] == 500_000_000
    assert host["Memory"] == 64 * 2**20
    assert host["PidsLimit"] == 32
    assert host["NetworkMode"] == "none"
    # Hardened as every container step is: no capabilities, nothing gained by exec, not root.
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert container.attrs["Config"]["User"] == "65534:65534"
    assert containers_of(docker_client, policy) == [], "the container was not removed"


async def test_lines_arrive_while_the_step_still_runs(
    backend: DockerBackend, busybox_image: str, tmp_path: Path
) -> None:
    outcome, output = await run(
        backend, work(busybox_image, "echo first; sleep 1.5; echo second"), tmp_path
    )
    assert outcome.exit_code == 0
    (first_at, _, first), (second_at, _, second) = output.lines
    assert (first, second) == ("first", "second")
    assert second_at - first_at > 1.0, "the first line came only when the step ended"


async def test_the_workspace_is_the_executions_folder(
    backend: DockerBackend, busybox_image: str, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "given").write_text("from the host\n")
    outcome, output = await run(
        backend,
        work(busybox_image, "cat given; echo from the step > made; pwd", workdir="sub/.."),
        workspace,
    )
    assert outcome.exit_code == 0
    assert output.text() == ["from the host", "/workspace"]
    assert (workspace / "made").read_text() == "from the step\n"


async def test_a_memory_limit_is_enforced_and_named(
    backend: DockerBackend, busybox_image: str, tmp_path: Path
) -> None:
    # A shell variable of 100 MB cannot fit in 16 MiB: the kernel kills the shell.
    hog = "x=$(head -c 100000000 /dev/zero | tr '\\000' x); echo survived ${#x}"
    outcome, output = await run(
        backend, work(busybox_image, hog, resources={"memory": "16m"}), tmp_path
    )
    assert outcome.exit_code == 137
    assert outcome.error == "out of memory: killed at its memory limit (16m)"
    assert not any("survived" in line for line in output.text())


async def test_there_is_no_network_unless_the_step_asks(
    docker_client: docker.DockerClient,
    backend: DockerBackend,
    policy: ContainerPolicy,
    busybox_image: str,
    tmp_path: Path,
) -> None:
    interfaces = "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"
    outcome, output = await run(backend, work(busybox_image, interfaces), tmp_path)
    assert outcome.exit_code == 0
    assert output.text() == ["lo"]

    # This engine runs without a bridge; the host's network shows the switch works.
    with_network = DockerBackend(
        docker_client, ContainerPolicy("tester", policy.deployment, "host")
    )
    try:
        outcome, output = await run(
            with_network, work(busybox_image, interfaces, network=True), tmp_path
        )
    finally:
        with_network.close()
    assert outcome.exit_code == 0
    assert set(output.text()) > {"lo"}


async def test_a_command_missing_from_the_image_fails_and_says_why(
    backend: DockerBackend, busybox_image: str, tmp_path: Path
) -> None:
    step = work(busybox_image, "unused")
    step = step.model_copy(update={"run": RunSpec(command=["/no/such"], image=busybox_image)})
    outcome, output = await run(backend, step, tmp_path)
    # The container's init cannot exec it: exit 127, as a shell would say.
    assert outcome == Outcome(127, "exited with code 127", "exit")
    assert any("/no/such" in line for line in output.text("stderr")), output.lines


async def test_an_image_that_is_not_there_fails_with_a_reason(
    backend: DockerBackend, tmp_path: Path
) -> None:
    outcome, _ = await run(backend, work("execflow-test/absent:1", "true"), tmp_path)
    assert outcome.exit_code is None
    assert outcome.error is not None
    assert "cannot create a container of 'execflow-test/absent:1'" in outcome.error


async def test_stop_removes_a_running_container_within_the_grace_period(
    backend: DockerBackend,
    policy: ContainerPolicy,
    docker_client: docker.DockerClient,
    busybox_image: str,
    tmp_path: Path,
) -> None:
    step = work(busybox_image, "echo up; sleep 300")
    running = asyncio.create_task(run(backend, step, tmp_path))
    await until(lambda: containers_of(docker_client, policy))
    await asyncio.sleep(0.3)

    began = time.monotonic()
    assert await backend.stop_step(step.execution_id, step.step_id) == 1
    stopped_in = time.monotonic() - began
    outcome, output = await asyncio.wait_for(running, 5)

    assert stopped_in < 10, "it took the whole grace period: SIGTERM did not stop it"
    assert containers_of(docker_client, policy) == []
    assert outcome.error is not None
    assert outcome.error.startswith("stopped")
    assert output.text() == ["up"]


async def test_stop_kills_a_step_that_ignores_sigterm_after_the_grace(
    docker_client: docker.DockerClient,
    policy: ContainerPolicy,
    busybox_image: str,
    tmp_path: Path,
) -> None:
    backend = DockerBackend(docker_client, policy, stop_grace_s=1, pull=False)
    step = work(busybox_image, "trap 'echo ignoring TERM' TERM; echo up; while :; do sleep 1; done")
    running = asyncio.create_task(run(backend, step, tmp_path))
    await until(lambda: containers_of(docker_client, policy))
    await asyncio.sleep(0.5)

    began = time.monotonic()
    await backend.stop_step(step.execution_id, step.step_id)
    stopped_in = time.monotonic() - began
    outcome, output = await asyncio.wait_for(running, 5)
    backend.close()

    assert 1 <= stopped_in < 5
    assert containers_of(docker_client, policy) == []
    assert outcome.exit_code == 137  # SIGKILL
    assert "ignoring TERM" in output.text()


async def test_a_container_step_is_not_root_and_has_no_capabilities_unless_it_asks(
    backend: DockerBackend, busybox_image: str, tmp_path: Path
) -> None:
    probe = "id -u; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; echo mine > made"
    outcome, output = await run(backend, work(busybox_image, probe), tmp_path / "ws")
    assert outcome.exit_code == 0, output.lines
    assert output.text() == ["65534", "CapEff:\t0000000000000000", "NoNewPrivs:\t1"]
    assert (tmp_path / "ws" / "made").read_text() == "mine\n"  # the workspace is shared

    outcome, output = await run(backend, work(busybox_image, probe, user="0"), tmp_path / "r")
    assert outcome.exit_code == 0, output.lines
    assert output.text() == ["0", "CapEff:\t0000000000000000", "NoNewPrivs:\t1"]


async def test_an_image_outside_the_allow_list_is_neither_pulled_nor_run(
    docker_client: docker.DockerClient,
    policy: ContainerPolicy,
    busybox_image: str,
    tmp_path: Path,
) -> None:
    listed = dataclasses.replace(policy, images=("registry.example.com/*",))
    backend = DockerBackend(docker_client, listed, pull=True)
    try:
        outcome, _ = await run(backend, work(busybox_image, "echo ran > ran"), tmp_path)
    finally:
        backend.close()
    assert outcome.exit_code is None
    assert outcome.error_kind == "start"
    assert f"image {busybox_image!r} is not allowed here" in (outcome.error or "")
    assert not (tmp_path / "ran").exists()
    assert containers_of(docker_client, policy) == []


async def test_a_step_that_sets_no_limits_gets_the_runners_defaults(
    docker_client: docker.DockerClient, policy: ContainerPolicy, busybox_image: str, tmp_path: Path
) -> None:
    limited = dataclasses.replace(policy, default_cpus=2.0, default_memory="2g")
    backend = DockerBackend(docker_client, limited, pull=False)
    try:
        running = asyncio.create_task(run(backend, work(busybox_image, "sleep 1"), tmp_path))
        await until(lambda: containers_of(docker_client, policy))
        container = docker_client.containers.get(containers_of(docker_client, policy)[0]["Id"])
        outcome, _ = await running
    finally:
        backend.close()
    assert outcome == Outcome(exit_code=0)
    host = container.attrs["HostConfig"]
    assert (host["NanoCpus"], host["Memory"], host["PidsLimit"]) == (2 * 10**9, 2 * 2**30, 64)
