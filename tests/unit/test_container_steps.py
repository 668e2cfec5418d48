"""Container steps: what the spec accepts, and the container a step attempt becomes."""

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from execflow_contracts import RunSpec, StepWork
from execflow_runner.backends import ContainerPolicy
from execflow_runner.backends.containers import container_options
from execflow_runner.backends.lines import LineSplitter
from execflow_runner.settings import RunnerSettings
from execflow_runner.wiring import container_policy


def test_a_step_with_an_image_runs_on_docker_and_one_without_as_a_process() -> None:
    assert RunSpec(command=["true"], image="alpine:3").backend == "docker"
    assert RunSpec(command=["true"]).backend == "process"


@pytest.mark.parametrize(
    "run",
    [
        {"command": ["true"], "resources": {"memory": "64m"}},
        {"command": ["true"], "user": "root"},
    ],
)
def test_limits_and_a_user_without_an_image_are_refused(run: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="apply to container steps"):
        RunSpec.model_validate(run)


def test_a_process_step_may_ask_for_the_network() -> None:
    # A sandboxed process has none unless it asks, as a container.
    assert RunSpec.model_validate({"command": ["true"], "network": True}).network is True


@pytest.mark.parametrize(
    "resources",
    [{"memory": "64 MB"}, {"memory": "0"}, {"cpus": 0}, {"pids": 0}, {"disk": "1g"}],
)
def test_bad_resources_are_refused(resources: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RunSpec.model_validate({"command": ["true"], "image": "x", "resources": resources})


def work(**run: Any) -> StepWork:
    return StepWork(
        execution_id=uuid.UUID(int=7),
        step_id="build",
        attempt=2,
        queue="default",
        run=RunSpec(command=["make"], image="builder:1", **run),
        dispatched_at=datetime.now(UTC),
    )


POLICY = ContainerPolicy("w1", "prod", network="bridge", default_memory="1g", default_pids=100)


def test_a_container_gets_the_workspace_labels_and_no_network() -> None:
    options = container_options(work(env={"A": "1"}), Path("/ws/x"), POLICY)
    assert options["image"] == "builder:1"
    assert options["command"] == ["make"]
    assert options["volumes"] == {"/ws/x": {"bind": "/workspace", "mode": "rw"}}
    assert options["working_dir"] == "/workspace"
    assert options["network_mode"] == "none"
    assert options["labels"] == {
        "execflow.deployment": "prod",
        "execflow.execution": str(uuid.UUID(int=7)),
        "execflow.step": "build",
        "execflow.attempt": "2",
        "execflow.worker": "w1",
        "execflow.namespace": "default",
    }
    assert options["environment"] == {
        "EXECFLOW_EXECUTION_ID": str(uuid.UUID(int=7)),
        "EXECFLOW_STEP_ID": "build",
        "EXECFLOW_ATTEMPT": "2",
        "EXECFLOW_WORKSPACE": "/workspace",
        "A": "1",
    }


def test_the_steps_limits_win_over_the_runners_defaults() -> None:
    defaults = container_options(work(), Path("/ws"), POLICY)
    assert (defaults["mem_limit"], defaults["memswap_limit"]) == ("1g", "1g")
    assert (defaults["pids_limit"], defaults["nano_cpus"]) == (100, None)
    own = container_options(
        work(
            resources={"cpus": 1.5, "memory": 2**20 * 64, "pids": 10}, network=True, workdir="src"
        ),
        Path("/ws"),
        POLICY,
    )
    assert (own["mem_limit"], own["pids_limit"], own["nano_cpus"]) == (2**26, 10, 1_500_000_000)
    assert own["network_mode"] == "bridge"
    assert own["working_dir"] == "/workspace/src"


def test_a_container_has_no_capabilities_no_new_privileges_and_is_not_root() -> None:
    options = container_options(work(), Path("/ws"), POLICY)
    assert options["cap_drop"] == ["ALL"]
    assert options["security_opt"] == ["no-new-privileges"]
    assert options["user"] == "65534:65534"
    assert container_options(work(user="root"), Path("/ws"), POLICY)["user"] == "root"
    with pytest.raises(ValidationError):
        work(user="root; rm -rf /")


def test_a_runner_limits_container_steps_and_runs_them_as_itself_or_nobody() -> None:
    policy = container_policy(RunnerSettings(docker_images="python:3.*, busybox"))
    options = container_options(work(), Path("/ws"), policy)
    assert (options["nano_cpus"], options["mem_limit"], options["pids_limit"]) == (
        2_000_000_000,
        "2g",
        1024,
    )
    expected = "65534:65534" if os.geteuid() == 0 else f"{os.getuid()}:{os.getgid()}"
    assert options["user"] == expected
    assert policy.images == ("python:3.*", "busybox")


@pytest.mark.parametrize("workdir", ["..", "../other", "/etc", "src/../../x"])
def test_a_workdir_outside_the_workspace_is_refused(workdir: str) -> None:
    with pytest.raises(ValueError, match="workspace"):
        container_options(work(workdir=workdir), Path("/ws"), POLICY)


def test_the_image_allow_list() -> None:
    assert ContainerPolicy("w", "d").allows("anything:1")
    listed = ContainerPolicy("w", "d", images=("python:3.*", "registry.example.com/*"))
    assert listed.allows("python:3.12-slim")
    assert listed.allows("registry.example.com/team/tool:2")
    assert not listed.allows("python:2.7")
    assert not listed.allows("evil.example.com/registry.example.com/x")


def test_lines_are_rebuilt_from_chunks_cut_anywhere() -> None:
    splitter = LineSplitter(max_line_bytes=8)
    assert splitter.feed(b"one\ntw") == ["one"]
    assert splitter.feed(b"o\r\n\xff\n") == ["two", "\ufffd"]
    assert splitter.feed(b"0123456789") == ["01234567"]
    assert splitter.feed(b"") == []
    assert splitter.rest() == ["89"]
    assert splitter.rest() == []
