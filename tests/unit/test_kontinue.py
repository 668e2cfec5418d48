"""kontinue's Execution, translated to and from execflow's: pure, no I/O."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from execflow_api.dialects.kontinue.models import (
    GROUP,
    VERSION,
    KontinueExecution,
    KontinueExecutionSpec,
)
from execflow_api.dialects.kontinue.translate import (
    age,
    attempts_of,
    execution_id,
    phase_of,
    with_policies,
)
from execflow_contracts import WorkflowSpec

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WORKFLOW = WorkflowSpec.model_validate(
    {
        "steps": [
            {"id": "work", "run": {"command": ["true"]}, "timeout": {"attempt": 60}},
            {"id": "ask", "type": "input"},
            {
                "id": "sub",
                "type": "child",
                "workflow": {"steps": [{"id": "x", "run": {"command": ["true"]}}]},
            },
        ]
    }
)


def spec(**given: Any) -> KontinueExecutionSpec:
    return KontinueExecutionSpec.model_validate({"function": "f", **given})


def test_retry_timeout_and_ttl_apply_to_the_whole_run() -> None:
    given = spec(
        retry={"retries": 3, "backoff": "10s", "childPolicy": "RetryFailed"},
        timeout={"overall": "1h", "attempt": "5m"},
        ttl={"deleteAfter": "7d"},
    )
    applied = with_policies(WORKFLOW, given)
    work, ask, sub = applied.steps
    for step in (work, sub):
        assert step.retry is not None
        assert step.retry.max_attempts == 4
        assert (step.retry.backoff.initial, step.retry.backoff.factor) == (10.0, 1.0)
        assert step.retry.backoff.jitter == 0.0
    assert ask.retry is None  # an answer is not retried
    assert work.timeout is not None and work.timeout.attempt == 300.0
    assert applied.defaults.timeout.attempt == 300.0
    assert applied.timeout.overall == 3600.0
    assert applied.ttl.delete_after == 7 * 86400.0


def test_children_are_retried_only_with_retry_failed() -> None:
    applied = with_policies(WORKFLOW, spec(retry={"retries": 2}))
    work, _, sub = applied.steps
    assert work.retry is not None and work.retry.max_attempts == 3
    assert work.retry.backoff.initial == 5.0  # kontinue's default backoff
    assert sub.retry is None
    assert with_policies(WORKFLOW, spec()) == WORKFLOW  # nothing asked, nothing changed


@pytest.mark.parametrize(
    ("given", "wrong"),
    [
        ({"retry": {"retries": 1, "childPolicy": "RetryAll"}}, "childPolicy"),
        ({"retry": {"retries": 1, "backoff": "soon"}}, "backoff"),
        ({"timeout": {"overall": "1h", "idle": "5m"}}, "idle"),
        ({"ttl": {"archiveAfter": "1d"}}, "archiveAfter"),
    ],
)
def test_what_kontinue_says_that_execflow_cannot_do_is_refused(
    given: dict[str, Any], wrong: str
) -> None:
    with pytest.raises(ValueError, match=wrong):
        spec(**given)


def moves(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {"to": to, "reason": reason, "at": T0 + timedelta(seconds=i)}
        for i, (to, reason) in enumerate(pairs)
    ]


def test_attempts_begin_when_the_run_runs_and_end_at_each_backoff() -> None:
    attempts = attempts_of(
        moves(
            ("pending", "created"),
            ("queued", "steps dispatched"),
            ("starting", "taken"),
            ("running", "running"),
            ("backoff", "step 'work' failed (exited with code 1); retrying in 10.0s"),
            ("queued", "retrying"),
            ("running", "running"),
            ("failed", "step 'work' failed: exited with code 1"),
        )
    )
    assert [(a.phase, a.message) for a in attempts] == [
        ("Failed", "step 'work' failed (exited with code 1); retrying in 10.0s"),
        ("Failed", "step 'work' failed: exited with code 1"),
    ]
    assert attempts[0].started_at == T0 + timedelta(seconds=3)
    assert attempts[1].finished_at == T0 + timedelta(seconds=7)
    running = attempts_of(moves(("running", "running")))
    assert [(a.phase, a.finished_at) for a in running] == [("Executing", None)]


def test_phases() -> None:
    assert phase_of({"status": "queued"}, False) == "Pending"
    assert phase_of({"status": "starting"}, False) == "Executing"
    assert phase_of({"status": "running"}, False) == "Executing"
    assert phase_of({"status": "running"}, True) == "Suspended"  # waits on a child
    assert phase_of({"status": "awaiting_input"}, False) == "Suspended"
    assert phase_of({"status": "backoff"}, False) == "Backoff"
    assert phase_of({"status": "timed_out"}, False) == "Failed"
    assert phase_of({"status": "cancelled"}, False) == "Canceled"


def test_names_make_ids_and_ages_read_as_kubectl_writes_them() -> None:
    assert execution_id("default", "a") == execution_id("default", "a")
    assert execution_id("default", "a") != execution_id("other", "a")
    now = T0 + timedelta(days=3)
    ages = [age(now - timedelta(seconds=s), now) for s in (5, 119, 600, 7300, 200_000)]
    assert ages == ["5s", "119s", "10m", "2h", "2d"]


def test_the_apiservice_manifest_registers_the_group_served() -> None:
    manifest = Path(__file__).parents[2] / "deploy/kubernetes/kontinue-apiservice.yaml"
    documents = list(yaml.safe_load_all(manifest.read_text()))
    service = next(d for d in documents if d["kind"] == "APIService")
    assert service["metadata"]["name"] == f"{VERSION}.{GROUP}"
    assert (service["spec"]["group"], service["spec"]["version"]) == (GROUP, VERSION)
    backend = next(d for d in documents if d["kind"] == "Service")
    assert service["spec"]["service"]["name"] == backend["metadata"]["name"]


def test_a_manifest_as_the_docs_write_it() -> None:
    manifest = KontinueExecution.model_validate(
        yaml.safe_load(
            """
apiVersion: kontinue.cloud/v1alpha1
kind: Execution
metadata:
  generateName: hello-world-
spec:
  function: hello-world
  arguments:
    name: "Alice"
"""
        )
    )
    assert manifest.metadata.generate_name == "hello-world-"
    assert manifest.spec.arguments == {"name": "Alice"}
