"""Bad input gets a 4xx with a reason, never a 500; nothing is created."""

import uuid

import httpx
import pytest


def step(step_id: str, *needs: str) -> dict[str, object]:
    return {"id": step_id, "needs": list(needs), "run": {"command": ["true"]}}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"workflow": {"steps": [step("a", "ghost")]}}, "needs unknown steps: ghost"),
        ({"workflow": {"steps": [step("a", "b"), step("b", "a")]}}, "cycle"),
        ({"workflow": {"steps": [step("a"), step("a")]}}, "duplicate step ids: a"),
        ({"workflow": {"steps": []}}, "workflow.steps"),
        ({"workflow": {"steps": [{"id": "a", "run": {"command": []}}]}}, "command"),
        ({"workflow": {"steps": [step("a")]}, "surprise": 1}, "surprise"),
        ({}, "give either `workflow` or `workflow_id`"),
    ],
)
def test_invalid_workflows_are_422_with_the_reason(
    api: httpx.Client, body: dict[str, object], reason: str
) -> None:
    before = api.get("/api/v1/executions", params={"limit": 500}).json()["items"]
    response = api.post("/api/v1/executions", json=body)
    assert response.status_code == 422
    assert reason in response.json()["reason"]
    after = api.get("/api/v1/executions", params={"limit": 500}).json()["items"]
    assert len(after) == len(before)


def test_malformed_json_is_400(api: httpx.Client) -> None:
    response = api.post(
        "/api/v1/executions", content=b'{"workflow": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"


def test_unknown_executions_are_404(api: httpx.Client) -> None:
    unknown = uuid.uuid4()
    for path in ("", "/transitions", "/logs"):
        response = api.get(f"/api/v1/executions/{unknown}{path}")
        assert response.status_code == 404
        assert str(unknown) in response.json()["reason"]


def test_ids_that_are_not_uuids_and_bad_cursors_are_4xx(api: httpx.Client) -> None:
    assert api.get("/api/v1/executions/not-a-uuid").status_code == 422
    assert api.get("/api/v1/executions", params={"cursor": "garbage"}).status_code == 400
    assert api.get("/api/v1/executions", params={"status": "sleepy"}).status_code == 422
