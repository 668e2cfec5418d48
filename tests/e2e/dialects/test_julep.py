"""Julep's client, as its documentation writes it (base URL `<execflow>/julep`): create
with a task id, poll, change_status to move a waiting execution on or to cancel it, list
by Julep's statuses, read the transitions."""

import uuid
from typing import Any

import httpx

from ..conftest import wait_for


def register(api: httpx.Client, *steps: dict[str, Any]) -> str:
    task_id = f"task-{uuid.uuid4().hex[:8]}"
    response = api.post("/api/v1/workflows", json={"id": task_id, "steps": list(steps)})
    assert response.status_code == 201, response.text
    return task_id


def sh(step_id: str, script: str, *needs: str) -> dict[str, Any]:
    return {"id": step_id, "needs": list(needs), "run": {"command": ["sh", "-c", script]}}


def julep_status(api: httpx.Client, execution_id: str) -> str | None:
    response = api.get(f"/julep/executions/{execution_id}")
    return str(response.json()["status"]) if response.status_code == 200 else None


def wait_julep(api: httpx.Client, execution_id: str, wanted: str) -> dict[str, Any]:
    wait_for(lambda: julep_status(api, execution_id) == wanted, what=f"{execution_id} {wanted}")
    body: dict[str, Any] = api.get(f"/julep/executions/{execution_id}").json()
    return body


def listed(api: httpx.Client, task_id: str, status: str) -> list[str]:
    path = f"/julep/tasks/{task_id}/executions"
    response = api.get(path, params={"status": status})
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()["items"]]


def test_create_wait_resume_with_change_status_and_succeed(api: httpx.Client) -> None:
    approve = {"id": "approve", "type": "input", "prompt": "go?", "schema": {"type": "object"}}
    task_id = register(api, approve, sh("work", "echo {{ steps.approve.output.go }}", "approve"))
    resp = api.post(
        f"/julep/tasks/{task_id}/executions",
        json={"input": {"topic": "x"}, "metadata": {"team": "ai"}},
    )
    assert resp.status_code == 201, resp.text
    created = resp.json()
    execution_id = created["id"]
    assert (created["task_id"], created["status"], created["input"]) == (
        task_id,
        "queued",
        {"topic": "x"},
    )
    assert created["metadata"] == {"team": "ai"}

    waiting = wait_julep(api, execution_id, "awaiting_input")
    assert listed(api, task_id, "awaiting_input") == [execution_id]
    changed = api.put(
        f"/julep/executions/{execution_id}", json={"status": "running", "input": {"go": "yes"}}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["id"] == execution_id
    done = wait_julep(api, execution_id, "succeeded")
    assert done["error"] is None
    assert done["output"] == {"approve": {"go": "yes"}}
    assert done["metadata"] == {"team": "ai"} and waiting["metadata"] == {"team": "ai"}
    assert listed(api, task_id, "succeeded") == [execution_id]
    assert listed(api, task_id, "awaiting_input") == []
    everywhere = api.get("/julep/executions", params={"status": "succeeded", "limit": 100})
    assert execution_id in [e["id"] for e in everywhere.json()["items"]]


def test_starting_is_entered_and_transitions_speak_julep(api: httpx.Client) -> None:
    task_id = register(api, sh("one", "true"))
    execution_id = api.post(f"/julep/tasks/{task_id}/executions", json={"input": {}}).json()["id"]
    wait_julep(api, execution_id, "succeeded")
    items = api.get(f"/julep/executions/{execution_id}/transitions").json()["items"]
    moves = [
        (t["type"], t["metadata"]["execflow_type"], t["metadata"]["from"], t["metadata"]["to"])
        for t in items
        if t["metadata"]["execflow_type"] != "step"
    ]
    assert moves == [
        ("init", "init", None, "pending"),
        ("init", "queue", "pending", "queued"),
        ("step", "start", "queued", "starting"),
        ("step", "start", "starting", "running"),
        ("finish", "finish", "running", "completed"),
    ]
    assert all(t["execution_id"] == execution_id for t in items)
    assert len({t["id"] for t in items}) == len(items)
    page = api.get(
        f"/julep/executions/{execution_id}/transitions", params={"offset": 1, "limit": 2}
    )
    assert [t["id"] for t in page.json()["items"]] == [t["id"] for t in items[1:3]]


def test_change_status_cancels_and_refuses_what_cannot_be_asked(api: httpx.Client) -> None:
    task_id = register(api, sh("long", "sleep 30"))
    execution_id = api.post(f"/julep/tasks/{task_id}/executions", json={"input": {}}).json()["id"]
    wait_julep(api, execution_id, "running")
    refused = api.put(f"/julep/executions/{execution_id}", json={"status": "succeeded"})
    assert refused.status_code == 409
    assert "not to 'succeeded'" in refused.json()["reason"]
    not_waiting = api.put(
        f"/julep/executions/{execution_id}", json={"status": "running", "input": {"a": 1}}
    )
    assert not_waiting.status_code == 409
    assert "not waiting for input" in not_waiting.json()["reason"]
    stop = {"status": "cancelled", "reason": "enough"}
    assert api.put(f"/julep/executions/{execution_id}", json=stop).status_code == 200
    assert wait_julep(api, execution_id, "cancelled")["error"] is None
    assert listed(api, task_id, "cancelled") == [execution_id]
    reasons = [
        t["metadata"]["reason"]
        for t in api.get(f"/julep/executions/{execution_id}/transitions").json()["items"]
        if t["type"] == "cancelled"
    ]
    assert reasons[0] == "enough"


def test_execflows_own_change_status_moves_a_waiting_execution_on(api: httpx.Client) -> None:
    ask = {"id": "ask", "type": "input", "prompt": "n?"}
    created = api.post("/api/v1/executions", json={"workflow": {"steps": [ask]}}).json()
    wait_julep(api, created["id"], "awaiting_input")
    patched = api.patch(
        f"/api/v1/executions/{created['id']}", json={"status": "running", "input": 3}
    )
    assert patched.status_code == 202, patched.text
    assert wait_julep(api, created["id"], "succeeded")["output"] == {"ask": 3}


def test_julep_refusals_say_why(api: httpx.Client) -> None:
    bad_status = api.get("/julep/executions", params={"status": "done"})
    assert bad_status.status_code == 422
    assert "status" in bad_status.json()["reason"]
    unknown_task = api.post("/julep/tasks/nope/executions", json={"input": {}})
    assert unknown_task.status_code == 404
    not_an_object = api.post("/julep/tasks/nope/executions", json={"input": [1]})
    assert not_an_object.status_code == 422
    too_far = api.get("/julep/executions", params={"offset": 20_000})
    assert too_far.status_code == 422
    assert "offset + limit" in too_far.json()["reason"]
    unknown = api.get(f"/julep/executions/{uuid.uuid4()}/transitions")
    assert unknown.status_code == 404
