"""The Kubernetes backend's Jobs, checked against Kubernetes' own schemas (strict: no
field it does not know); no cluster runs here."""

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import kubernetes_validate
import pytest

from execflow_contracts import RunSpec, StepWork
from execflow_runner.backends import Backends, ContainerPolicy, ProcessBackend
from execflow_runner.backends.jobs import (
    JobPolicy,
    job_manifest,
    job_name,
    memory,
    owned_by_job,
    secret_manifest,
    secret_name,
)

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


# What the runner gives the backend for a step that names secrets: their values beside the
# step protocol's paths.
SECRET_VALUE = "s3cr3t-" + "v" * 20
ODD = "odd name:1"  # a variable a Secret cannot have as a key


def with_secrets() -> tuple[StepWork, dict[str, str]]:
    env = {"TOKEN": {"secret": "deploy-token"}, ODD: {"secret": "odd"}, "MODE": "ci"}
    step = work(env=env)
    folder = WORKSPACE / str(step.execution_id)
    given = {
        "TOKEN": SECRET_VALUE,
        ODD: "other-" + SECRET_VALUE,
        "EXECFLOW_EVENTS": str(folder / ".execflow" / "build.2.1.events.jsonl"),
    }
    return step, given


@pytest.mark.parametrize("version", VERSIONS)
def test_a_steps_secret_and_its_job_are_valid_kubernetes(version: str) -> None:
    step, given = with_secrets()
    manifest = job_manifest(step, "n0nce", WORKSPACE / str(step.execution_id), policy(), given)
    secret = secret_manifest(step, "n0nce", policy(), given)
    assert secret is not None
    # As it stands once the Job exists and owns it.
    owned = secret | {"metadata": secret["metadata"] | owned_by_job("job", "uid")["metadata"]}
    for checked in (manifest, secret, owned):
        kubernetes_validate.validate(checked, version, strict=True)


def test_a_job_holds_no_secret_value_and_refers_to_its_secret_which_does() -> None:
    step, given = with_secrets()
    manifest = job_manifest(step, "n0nce", WORKSPACE / str(step.execution_id), policy(), given)
    secret = secret_manifest(step, "n0nce", policy(), given)
    assert secret is not None
    assert SECRET_VALUE not in json.dumps(manifest)

    name = job_name(step, "n0nce")
    assert secret["metadata"]["name"] == secret_name(name) != name
    assert secret["metadata"]["namespace"] == manifest["metadata"]["namespace"] == "builds"
    assert secret["metadata"]["labels"] == manifest["metadata"]["labels"]
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    refs = {
        item["name"]: item["valueFrom"]["secretKeyRef"]
        for item in container["env"]
        if "valueFrom" in item
    }
    assert set(refs) == {"TOKEN", ODD}
    assert {ref["name"] for ref in refs.values()} == {secret_name(name)}
    # Each reference finds its value in the Secret (the odd name under a key it can have).
    held = secret["stringData"]
    assert held[refs["TOKEN"]["key"]] == SECRET_VALUE
    assert held[refs[ODD]["key"]] == "other-" + SECRET_VALUE
    assert refs["TOKEN"]["key"] == "TOKEN" and refs[ODD]["key"].startswith("env-")
    assert len(held) == 2  # the secrets' values only: the step protocol's paths stay plain
    plain = {item["name"]: item["value"] for item in container["env"] if "value" in item}
    assert plain["MODE"] == "ci"
    assert plain["EXECFLOW_EVENTS"] == "/workspace/.execflow/build.2.1.events.jsonl"
    assert not {"TOKEN", ODD} & set(plain)


def test_a_step_naming_no_secret_has_no_secret_and_only_plain_variables() -> None:
    step = work(env={"MODE": "ci"})
    assert secret_manifest(step, "n0nce", policy(), {"EXECFLOW_EVENTS": "/x"}) is None
    manifest = job_manifest(step, "n0nce", WORKSPACE, policy(), {"EXECFLOW_EVENTS": "/x"})
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    assert all(set(item) == {"name", "value"} for item in container["env"])


def test_the_secret_is_owned_by_its_job_once_the_job_exists() -> None:
    patch = owned_by_job("execflow-build-0123456789", "5f1c-uid")
    assert patch == {
        "metadata": {
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": "execflow-build-0123456789",
                    "uid": "5f1c-uid",
                }
            ]
        }
    }


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
