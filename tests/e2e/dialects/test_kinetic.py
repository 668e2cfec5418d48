"""Kinetic's client, as its documentation writes it: execute with `inputPayload`, poll
`GET /api/executions/{id}`, retry; its answers in its own words."""

import uuid

import httpx

from ..conftest import wait_finished, wait_for

FACTS = """
ev() { echo "$1" >> "$EXECFLOW_EVENTS"; }
ev '{"type": "action", "name": "open", "url": "{{ inputs.documentUrl }}"}'
echo png > shot.png; ev '{"type": "screenshot", "path": "shot.png"}'
echo '{"total": 42}' > out.json
ev '{"type": "artifact", "name": "result", "path": "out.json", "kind": "output"}'
echo webm > run.webm
ev '{"type": "artifact", "name": "recording", "path": "run.webm", "kind": "video"}'
seq 1 1001
"""


def register(api: httpx.Client, *steps: dict[str, object]) -> str:
    workflow_id = f"invoice-{uuid.uuid4().hex[:8]}"
    response = api.post("/api/v1/workflows", json={"id": workflow_id, "steps": list(steps)})
    assert response.status_code == 201, response.text
    return workflow_id


def sh(step_id: str, script: str) -> dict[str, object]:
    return {"id": step_id, "run": {"command": ["sh", "-c", script]}}


def test_execute_poll_and_read_as_kinetic_does(api: httpx.Client) -> None:
    workflow_id = register(api, sh("extract", FACTS))
    payload = {"documentUrl": "https://invoices.example.com/123.pdf"}
    resp = api.post(f"/api/workflows/{workflow_id}/execute", json={"inputPayload": payload})
    assert resp.status_code == 201, resp.text
    created = resp.json()
    execution_id = created["executionId"]
    assert created["execution_uuid"] == execution_id
    assert (created["status"], created["input_payload"], created["n_steps"]) == (
        "pending",
        payload,
        1,
    )
    assert created["workflow_uuid"] == workflow_id
    version = created["workflow_version_uuid"]
    assert uuid.UUID(version)

    wait_finished(api, execution_id)
    base = str(api.base_url).rstrip("/")

    def logs_in() -> bool:
        return len(api.get(f"/api/executions/{execution_id}").json()["logs"]) == 1000

    wait_for(logs_in, what="the first page of logs")  # lines are projected apart
    detail = api.get(f"/api/executions/{execution_id}").json()
    assert detail["status"] == "completed"
    assert detail["execflow_status"] == "completed"
    assert detail["workflow_version_uuid"] == version
    assert (detail["n_steps"], detail["n_agent_actions"], detail["n_screenshots"]) == (1, 1, 1)
    assert isinstance(detail["duration_ms"], int) and detail["duration_ms"] >= 0
    assert detail["input_payload"] == payload
    artifacts = f"{base}/api/v1/executions/{execution_id}/artifacts"
    assert detail["output_url"] == f"{artifacts}/result"
    assert detail["video_url"] == f"{artifacts}/recording"
    assert detail["logs_url"] == f"{artifacts}/extract.log"
    assert api.get(detail["output_url"]).json() == {"total": 42}
    assert detail["logs"] == [str(n) for n in range(1, 1001)]
    rest = api.get(detail["logs_next_url"]).json()["items"]
    assert [line["line"] for line in rest] == ["1001"]


def kinetic_status(api: httpx.Client, execution_id: str) -> str | None:
    """Its status in Kinetic's words; None until the read models have it."""
    response = api.get(f"/api/executions/{execution_id}")
    return str(response.json()["status"]) if response.status_code == 200 else None


def test_retry_clones_stops_the_original_and_queues_the_clone(api: httpx.Client) -> None:
    workflow_id = register(api, sh("slow", "echo {{ inputs.n }}; sleep 30"))
    created = api.post(f"/api/workflows/{workflow_id}/execute", json={"inputPayload": {"n": 7}})
    original = created.json()["executionId"]
    wait_for(lambda: kinetic_status(api, original) == "running", what="the original running")
    resp = api.post(f"/api/executions/{original}/retry")
    assert resp.status_code == 201, resp.text
    clone = resp.json()
    assert clone["execution_uuid"] != original
    assert (clone["status"], clone["input_payload"]) == ("pending", {"n": 7})
    assert resp.headers["location"].endswith(f"/api/executions/{clone['execution_uuid']}")
    stopped = wait_finished(api, original)
    assert stopped["status"] == "cancelled"
    assert stopped["retried_by"] == clone["execution_uuid"]
    seen = api.get(f"/api/executions/{original}").json()
    assert (seen["status"], seen["execflow_status"]) == ("failed", "cancelled")
    wait_for(
        lambda: api.get(f"/api/executions/{clone['execution_uuid']}").json()["status"] == "running",
        what="the clone running",
    )
    api.post(f"/api/v1/executions/{clone['execution_uuid']}/cancel")


def test_kinetic_refusals_say_why(api: httpx.Client) -> None:
    missing = api.post("/api/workflows/no-such-flow/execute", json={"inputPayload": {}})
    assert missing.status_code == 404
    assert "no-such-flow" in missing.json()["reason"]
    unknown = api.get(f"/api/executions/{uuid.uuid4()}")
    assert unknown.status_code == 404
    typo = api.post("/api/workflows/x/execute", json={"input_payload": {}})
    assert typo.status_code == 422
    assert "input_payload" in typo.json()["reason"]
