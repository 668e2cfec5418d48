"""The Kubernetes backend's Jobs, checked against Kubernetes' own schemas (strict: no
field it does not know); no cluster runs here."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import kubernetes_validate
import pytest

from execflow_contracts import RunSpec, StepWork
from execflow_runner.backends import Backends, ContainerPolicy, ProcessBackend
from execflow_runner.backends.jobs import JobPolicy, job_manifest, job_name, memory

# The oldest Kubernetes still served by its makers, and the newest the package knows.
VERSIONS = ["1.32.0", kubernetes_validate.latest_version()]
WORKSPACE = Path("/srv/execflow/workspaces")


def work(step_id: str = "build", **run: Any) -> StepWork:
    spec = {"command": ["make", "test"], "image": "python:3.12"} | run
    return StepWork(
        execution_id=uuid4(),
        step_id=step_id,
        attempt=2,
        queue="k8s",
        run=RunSpec.model_validate(spec),
        dispatched_at=datetime.now(UTC),
    )


def policy(**containers: Any) -> JobPolicy:
    return JobPolicy(
        containers=ContainerPolicy(worker_id="runner-1.host", deployment="execflow", **containers),
        namespace="builds",
        workspace_claim="execflow-workspaces",
        service_account="execflow-steps",
    )


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "step",
    [
        work(),
        work("_Odd_Step-Name_" + "x" * 49, workdir="src", network=True, env={"A": "1"}),
        work(resources={"cpus": 1.5, "memory": "512m", "pids": 64}),
        work(resources={"memory": 1073741824}),
    ],
)
def test_every_job_is_valid_kubernetes(step: StepWork, version: str) -> None:
    manifest = job_manifest(step, "n0nce", WORKSPACE, policy(default_memory="2g"), {})
    kubernetes_validate.validate(manifest, version, strict=True)


def test_a_job_runs_the_step_in_the_executions_workspace() -> None:
    step = work(workdir="src", env={"MODE": "ci"})
    # The runner's folder of the execution (in the volume) is the pod's /workspace.
    folder = WORKSPACE / str(step.execution_id)
    events = str(folder / ".execflow" / "build.2.1.events.jsonl")
    manifest = job_manifest(step, "n0nce", folder, policy(), {"EXECFLOW_EVENTS": events})
    pod = manifest["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert (container["image"], container["command"]) == ("python:3.12", ["make", "test"])
    assert container["workingDir"] == "/workspace/src"
    assert container["volumeMounts"] == [
        {"name": "workspace", "mountPath": "/workspace", "subPath": str(step.execution_id)}
    ]
    assert pod["volumes"][0]["persistentVolumeClaim"] == {"claimName": "execflow-workspaces"}
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["EXECFLOW_EVENTS"] == "/workspace/.execflow/build.2.1.events.jsonl"
    assert env["MODE"] == "ci" and env["EXECFLOW_WORKSPACE"] == "/workspace"
    assert manifest["spec"]["backoffLimit"] == 0  # execflow retries attempts itself
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    labels = manifest["metadata"]["labels"]
    assert labels["execflow.execution"] == str(step.execution_id)
    assert (labels["execflow.attempt"], labels["execflow.network"]) == ("2", "true")


def test_names_labels_and_memory_as_kubernetes_wants_them() -> None:
    step = work("_Odd_Step-Name_" + "x" * 49)
    name = job_name(step, "a")
    assert len(name) <= 63 and name.startswith("execflow-odd-step-name-")
    assert name != job_name(step, "b")  # each run of the attempt has its own Job
    labels = job_manifest(step, "a", WORKSPACE, policy(), {})["metadata"]["labels"]
    assert labels["execflow.step"] == ("Odd_Step-Name_" + "x" * 49)[:62]
    assert [memory(m) for m in ("512m", "2g", "64k", "100b", 1024, None)] == [
        "512Mi",
        "2Gi",
        "64Ki",
        "100",
        "1024",
        None,
    ]


class Kubernetes(ProcessBackend):
    """Stands for the Kubernetes backend in the routing: which backend a step goes to."""


def test_container_steps_go_to_kubernetes_on_a_runner_configured_for_it() -> None:
    process, kubernetes = ProcessBackend(), Kubernetes()
    both = Backends({"process": process, "kubernetes": kubernetes})
    assert both.backend_of(work()) is kubernetes
    assert both.backend_of(work(image=None)) is process
    assert Backends({"process": process}).backend_of(work()) is None  # off: refused


KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


def test_the_backend_is_off_unless_configured_and_made_from_a_kubeconfig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from execflow_runner.settings import RunnerSettings
    from execflow_runner.wiring import kubernetes_backend

    assert RunnerSettings().kubernetes == "off"
    config = tmp_path / "config"
    config.write_text(KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(config))
    settings = RunnerSettings(
        kubernetes="on", kubernetes_namespace="builds", kubernetes_workspace_claim="ws"
    )
    backend = kubernetes_backend(settings)  # reads the config; connects on first use only
    assert (backend.policy.namespace, backend.policy.workspace_claim) == ("builds", "ws")
    assert backend.policy.containers.deployment == settings.bus_prefix


def test_an_image_outside_the_allow_list_is_refused_before_the_cluster_is_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from execflow_runner.settings import RunnerSettings
    from execflow_runner.wiring import kubernetes_backend

    config = tmp_path / "config"
    config.write_text(KUBECONFIG)  # a cluster that does not exist: asking it would fail
    monkeypatch.setenv("KUBECONFIG", str(config))
    backend = kubernetes_backend(RunnerSettings(kubernetes="on", docker_images="python:3.*"))
    step = work(image="busybox:1")
    outcome = asyncio.run(backend.run(step, tmp_path, lambda *_: None, lambda: None))
    assert outcome.error_kind == "start"
    assert outcome.error == (
        "image 'busybox:1' is not allowed here (EXECFLOW_DOCKER_IMAGES: python:3.*)"
    )
