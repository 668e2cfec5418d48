"""Registered workflows end to end: versions, YAML, inputs, conditions, templates,
stdout-json outputs, an input step; and every validation error, with its path."""

import uuid
from typing import Any

import httpx
import pytest

from execflow_devstack import Stack

from .conftest import logs_until, wait_finished, wait_status

PIPELINE = """
id: {id}
description: fetch, fan out, ask, join
inputs:
  type: object
  properties:
    who: {{type: string}}
    mode: {{enum: [full, quick]}}
  required: [who, mode]
defaults:
  env: {{GREETING: hello}}
steps:
  - id: fetch
    output: stdout-json
    run: {{command: [sh, -c, 'echo fetching; echo "{{\\"rows\\": 3}}"']}}
  - id: full
    needs: [fetch]
    when: inputs.mode == "full"
    run: {{command: [sh, -c, "echo full scan"]}}
  - id: after_full
    needs: [full]
    run: {{command: [sh, -c, "echo never"]}}
  - id: count
    needs: [fetch]
    run:
      command:
        - sh
        - -c
        - >-
          echo "$GREETING {{{{ inputs.who }}}} {{{{ steps.fetch.output.rows }}}}" > count.txt;
          echo '{{"type": "output", "value": {{{{ steps.fetch.output.rows * 2 }}}}}}'
          >> "$EXECFLOW_EVENTS"
  - id: approve
    type: input
    needs: [count]
    prompt: Ship it?
    schema: {{type: object, properties: {{ok: {{type: boolean}}}}, required: [ok]}}
  - id: join
    needs: [full, count, approve]
    when: steps.approve.output.ok
    run: {{command: [echo, "doubled={{{{ steps.count.output }}}} team={{{{ metadata.team }}}}"]}}
"""


def register_yaml(api: httpx.Client, text: str) -> httpx.Response:
    return api.post(
        "/api/v1/workflows", content=text.encode(), headers={"content-type": "application/yaml"}
    )


def steps_of(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in body["steps"]}


def test_a_registered_workflow_fans_out_skips_asks_and_joins(
    api: httpx.Client, stack: Stack
) -> None:
    workflow_id = f"pipeline-{uuid.uuid4().hex[:8]}"
    first = register_yaml(api, PIPELINE.format(id=workflow_id))
    assert first.status_code == 201, first.text
    assert first.json()["version"] == 1
    again = register_yaml(api, PIPELINE.format(id=workflow_id))
    assert (again.status_code, again.json()["version"]) == (200, 1)

    response = api.post(
        f"/api/v1/workflows/{workflow_id}/execute",
        json={"inputPayload": {"who": "ada", "mode": "quick"}, "metadata": {"team": "infra"}},
    )
    assert response.status_code == 202, response.text
    execution_id = response.json()["execution_id"]
    waiting = wait_status(api, execution_id, "awaiting_input")
    assert steps_of(waiting)["approve"]["prompt"] == "Ship it?"
    assert api.post(
        f"/api/v1/executions/{execution_id}/resume", json={"input": {"ok": True}}
    ).is_success

    body = wait_finished(api, execution_id)
    assert body["status"] == "completed", body
    assert (body["workflow_id"], body["workflow_version"]) == (workflow_id, 1)
    steps = steps_of(body)
    assert {i: s["status"] for i, s in steps.items()} == {
        "fetch": "succeeded",
        "full": "skipped",
        "after_full": "skipped",
        "count": "succeeded",
        "approve": "succeeded",
        "join": "succeeded",
    }
    assert "condition is false" in steps["full"]["message"]
    assert steps["fetch"]["output"] == {"rows": 3}
    assert steps["count"]["output"] == 6
    workspace = stack.config.work_dir / execution_id
    assert (workspace / "count.txt").read_text().strip() == "hello ada 3"
    # Log lines are projected apart from events: they may come a moment after the end.
    lines = logs_until(api, execution_id, lambda ls: any(ln["step_id"] == "join" for ln in ls))
    assert [ln["line"] for ln in lines if ln["step_id"] == "join"] == ["doubled=6 team=infra"]


def test_each_change_is_a_new_version_and_old_versions_stay_readable(api: httpx.Client) -> None:
    workflow_id = f"versions-{uuid.uuid4().hex[:8]}"
    step = {"id": "a", "run": {"command": ["true"]}}
    v1 = api.post("/api/v1/workflows", json={"id": workflow_id, "steps": [step]})
    v2 = api.post(
        "/api/v1/workflows",
        json={"id": workflow_id, "description": "now with a description", "steps": [step]},
    )
    assert (v1.status_code, v1.json()["version"]) == (201, 1)
    assert (v2.status_code, v2.json()["version"]) == (201, 2)
    assert api.get(f"/api/v1/workflows/{workflow_id}").json()["version"] == 2
    old = api.get(f"/api/v1/workflows/{workflow_id}", params={"version": 1}).json()
    assert (old["version"], old["description"]) == (1, "")
    listed = {w["id"]: w["version"] for w in api.get("/api/v1/workflows").json()["items"]}
    assert listed[workflow_id] == 2

    response = api.post(
        "/api/v1/executions", json={"workflow_id": workflow_id, "version": 1, "input": None}
    )
    assert response.status_code == 202, response.text
    body = wait_finished(api, response.json()["id"])
    assert (body["status"], body["workflow_version"]) == ("completed", 1)


def test_input_that_does_not_match_the_schema_is_422_naming_the_field(
    api: httpx.Client,
) -> None:
    workflow_id = f"typed-{uuid.uuid4().hex[:8]}"
    assert register_yaml(api, PIPELINE.format(id=workflow_id)).status_code == 201
    response = api.post(
        f"/api/v1/workflows/{workflow_id}/execute",
        json={"inputPayload": {"who": 7, "mode": "quick"}},
    )
    assert response.status_code == 422
    assert response.json()["reason"].startswith("input.who: 7 is not of type 'string'")
    missing = api.post("/api/v1/executions", json={"workflow_id": workflow_id, "input": {}})
    assert missing.status_code == 422
    assert "'who' is a required property" in missing.json()["reason"]


def test_unknown_workflows_and_versions_are_404(api: httpx.Client) -> None:
    assert api.get("/api/v1/workflows/nobody-here").status_code == 404
    response = api.post("/api/v1/workflows/nobody-here/execute", json={"inputPayload": {}})
    assert response.status_code == 404
    assert "nobody-here" in response.json()["reason"]


def sh(step_id: str, *needs: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "needs": list(needs), "run": {"command": ["true"]}, **extra}


@pytest.mark.parametrize(
    ("definition", "reason"),
    [
        ({"steps": [sh("a", "ghost")]}, "step 'a' needs unknown steps: ghost"),
        ({"steps": [sh("a", "b"), sh("b", "a")]}, "workflow has a cycle"),
        (
            {"steps": [sh("a"), sh("b", when="steps.a.output.ok")]},
            "steps[1].when: reads step 'a', which is not upstream",
        ),
        (
            {"steps": [sh("a"), sh("b", run={"command": ["echo", "{{ steps.a.output }}"]})]},
            "steps[1].run.command[1]: reads step 'a', which is not upstream",
        ),
        (
            {"steps": [sh("a", run={"command": ["echo"], "env": {"X": "{{ secret }}"}})]},
            "steps[0].run.env.X: unknown name 'secret'",
        ),
        ({"steps": [sh("a", when="inputs.x ==")]}, "steps[0].when: not a valid CEL expression"),
        ({"steps": [sh("a", retries=3)]}, "steps.0.retries: Extra inputs are not permitted"),
        ({"steps": [sh("a")], "inputs": {"type": "nonsense"}}, "inputs.type:"),
        ({"steps": [sh("a")], "concurrency": {"key": ""}}, "concurrency.key"),
        ({"id": "bad id!", "steps": [sh("a")]}, "id: String should match pattern"),
    ],
)
def test_invalid_definitions_are_422_with_the_path(
    api: httpx.Client, definition: dict[str, Any], reason: str
) -> None:
    body = {"id": f"bad-{uuid.uuid4().hex[:8]}"} | definition
    response = api.post("/api/v1/workflows", json=body)
    assert response.status_code == 422, response.text
    assert reason in response.json()["reason"]
    # Nothing was stored: not found, or (an id that is no id at all) refused as such.
    invalid_id = reason.startswith("id:")
    assert api.get(f"/api/v1/workflows/{body['id']}").status_code == (422 if invalid_id else 404)


def test_ad_hoc_executions_get_the_same_checks(api: httpx.Client) -> None:
    response = api.post(
        "/api/v1/executions",
        json={"workflow": {"steps": [sh("a"), sh("b", when="steps.a.output == 1")]}},
    )
    assert response.status_code == 422
    assert "steps[1].when: reads step 'a'" in response.json()["reason"]


def test_malformed_yaml_is_400(api: httpx.Client) -> None:
    response = register_yaml(api, "id: [unclosed")
    assert response.status_code == 400
