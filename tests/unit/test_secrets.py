"""Secrets without servers: how a step names one, how values are sealed, what a step's
environment is made of on each backend, and what the mask hides."""

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from execflow_catalogue.secrets import SecretsKey, load_key
from execflow_contracts import (
    RunSpec,
    SecretMask,
    SecretRef,
    SecretsUnavailable,
    StepWork,
    WorkflowSpec,
)
from execflow_ops.secrets_key import secrets_key
from execflow_runner.backends import ContainerPolicy
from execflow_runner.backends.containers import container_options
from execflow_runner.backends.jobs import JobPolicy, job_manifest, secret_manifest
from execflow_runner.backends.process import step_environment
from execflow_scheduler.domain.workflow import WorkflowRules

ENV = {"TOKEN": {"secret": "deploy-token"}, "PLAIN": "{{ inputs.who }}"}


def work(image: str | None = None) -> StepWork:
    return StepWork(
        execution_id=uuid.UUID(int=7),
        step_id="deploy",
        attempt=1,
        queue="default",
        run=RunSpec.model_validate({"command": ["make"], "image": image, "env": ENV}),
        dispatched_at=datetime.now(UTC),
        namespace="team-a",
    )


def test_a_step_names_a_secret_and_its_other_variables_stay_strings() -> None:
    run = RunSpec.model_validate({"command": ["true"], "env": ENV})
    assert run.env["TOKEN"] == SecretRef(secret="deploy-token")
    assert run.secret_env == {"TOKEN": "deploy-token"}
    assert run.literal_env == {"PLAIN": "{{ inputs.who }}"}
    # Read back from its own JSON (a work message), it is the same spec.
    assert RunSpec.model_validate_json(run.model_dump_json()) == run


@pytest.mark.parametrize(
    "value",
    [{"secret": "a/b"}, {"secret": ""}, {"secret": "x", "namespace": "other"}, {"name": "x"}, 3],
)
def test_a_bad_reference_is_refused(value: Any) -> None:
    with pytest.raises(ValidationError):
        RunSpec.model_validate({"command": ["true"], "env": {"TOKEN": value}})


def test_a_function_step_takes_no_secrets() -> None:
    with pytest.raises(ValidationError, match="`env` belong to commands"):
        RunSpec.model_validate({"function": "f", "env": {"T": {"secret": "x"}}})


def test_the_scheduler_renders_templates_and_leaves_a_secret_its_name() -> None:
    spec = WorkflowSpec.model_validate(
        {
            "steps": [{"id": "a", "run": {"command": ["true"], "env": ENV}}],
            "defaults": {"env": {"REGION": {"secret": "region"}, "TOKEN": "overridden"}},
        }
    )
    rules = WorkflowRules(spec, uuid.uuid4(), {"who": "ops"}, {}, {})
    rendered = rules.run(spec.steps[0])
    assert rendered["env"] == {
        "REGION": {"secret": "region"},
        "TOKEN": {"secret": "deploy-token"},
        "PLAIN": "ops",
    }
    assert RunSpec.model_validate(rendered).secret_env == {
        "REGION": "region",
        "TOKEN": "deploy-token",
    }


def test_a_value_is_sealed_and_opens_only_as_what_it_was_sealed_as() -> None:
    key = SecretsKey(SecretsKey.generate())
    sealed = key.seal("team-a", "deploy-token", "s3cr3t")
    assert b"s3cr3t" not in sealed
    assert key.open("team-a", "deploy-token", sealed) == "s3cr3t"
    assert key.seal("team-a", "deploy-token", "s3cr3t") != sealed  # a fresh nonce each time
    for namespace, name in (("team-b", "deploy-token"), ("team-a", "other")):
        with pytest.raises(SecretsUnavailable, match="does not open"):
            key.open(namespace, name, sealed)
    altered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SecretsUnavailable):
        key.open("team-a", "deploy-token", altered)
    assert SecretsKey(SecretsKey.generate()).id != key.id


@pytest.mark.parametrize("text", ["short", "not base64 at all!!", SecretsKey.generate()[:-4]])
def test_a_malformed_key_is_refused_at_start(text: str) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        load_key(text)
    assert load_key(None) is None and load_key("") is None


def test_the_mask_hides_every_value_and_each_line_of_a_long_one() -> None:
    pem = "-----BEGIN KEY-----\nMIIEvQIBADANBg\n-----END KEY-----"
    mask = SecretMask.of(["s3cr3t", "s3cr3t-longer", pem, "", "ab\n}"])
    assert mask.text("a s3cr3t-longer and s3cr3t") == "a *** and ***"
    assert mask.text("MIIEvQIBADANBg") == "***"  # a line of the key, as a log line has it
    assert mask.text("} ab") == "} ab"  # lines too short to be worth masking alone
    assert mask.json({"s3cr3t": ["x s3cr3t", 1, None]}) == {"***": ["x ***", 1, None]}
    assert not SecretMask.of([]) and SecretMask.of([]).text("s3cr3t") == "s3cr3t"


SECRETS = {"TOKEN": "s3cr3t", "EXECFLOW_EVENTS": "/ws/x/.execflow/e.jsonl"}


def test_a_process_gets_its_secrets_and_its_literal_variables() -> None:
    env = step_environment(work(), Path("/ws/x"), SECRETS)
    assert env["TOKEN"] == "s3cr3t" and env["PLAIN"] == "{{ inputs.who }}"
    assert "deploy-token" not in env.values()


def test_a_container_gets_them_in_its_environment() -> None:
    policy = ContainerPolicy("w1", "prod")
    environment = container_options(work("busybox"), Path("/ws/x"), policy, SECRETS)["environment"]
    assert environment["TOKEN"] == "s3cr3t" and environment["PLAIN"] == "{{ inputs.who }}"
    assert "deploy-token" not in environment.values()


def test_a_kubernetes_job_refers_to_its_secret_which_holds_the_value() -> None:
    policy = JobPolicy(ContainerPolicy("w1", "prod"), "builds", "claim", None)
    manifest = job_manifest(work("busybox"), "n1", Path("/ws/x"), policy, SECRETS)
    assert "s3cr3t" not in json.dumps(manifest)
    variables = manifest["spec"]["template"]["spec"]["containers"][0]["env"]
    found = {v["name"]: v.get("value", v.get("valueFrom")) for v in variables}
    secret = secret_manifest(work("busybox"), "n1", policy, SECRETS)
    assert secret is not None
    assert found["TOKEN"] == {"secretKeyRef": {"name": secret["metadata"]["name"], "key": "TOKEN"}}
    assert found["EXECFLOW_EVENTS"] == "/workspace/.execflow/e.jsonl"
    assert found["PLAIN"] == "{{ inputs.who }}"
    assert secret["stringData"] == {"TOKEN": "s3cr3t"}  # the step protocol's paths are no secret


def test_execflow_up_makes_a_key_once_keeps_it_private_and_takes_a_configured_one(
    tmp_path: Path,
) -> None:
    made = secrets_key(tmp_path)
    assert load_key(made) is not None
    assert (tmp_path / "secrets.key").stat().st_mode & 0o777 == 0o600
    assert secrets_key(tmp_path) == made  # kept across restarts
    configured = SecretsKey.generate()
    assert secrets_key(tmp_path, configured) == configured
