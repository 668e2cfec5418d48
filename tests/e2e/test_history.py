"""The audit trail: every stored event of an execution, as JSON and as JSON lines."""

import json
import time
from collections import Counter
from typing import Any

import httpx

from .conftest import wait_finished
from .test_executions import DIAMOND, create


def full_history(api: httpx.Client, execution_id: str) -> list[dict[str, Any]]:
    """The history once it holds the terminal event (the event log may trail a little)."""
    deadline = time.monotonic() + 10
    while True:
        response = api.get(f"/api/v1/executions/{execution_id}/history")
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        if (items and items[-1]["type"] == "ExecutionCompleted") or time.monotonic() > deadline:
            return items
        time.sleep(0.05)


def test_history_holds_every_event_in_version_order(api: httpx.Client) -> None:
    execution_id = create(api, DIAMOND)
    wait_finished(api, execution_id)
    events = full_history(api, execution_id)

    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    assert Counter(e["type"] for e in events) == {
        "ExecutionCreated": 1,
        "ExecutionQueued": 1,
        "ExecutionStarting": 1,
        "StepDispatched": 4,
        "StepStarted": 4,
        "ExecutionStarted": 1,
        "StepSucceeded": 4,
        "StepFactsRecorded": 4,  # each step's log, stored as an artifact
        "ExecutionCompleted": 1,
    }
    assert events[0]["type"] == "ExecutionCreated"
    assert events[0]["body"]["metadata"] == {"team": "infra"}
    assert events[0]["body"]["workflow"]["steps"][0]["id"] == "fetch"
    for event in events:
        assert event["at"]
        assert event["body"]["execution_id"] == execution_id
        assert event["body"]["version"] == event["version"]
        assert event["body"]["type"] == event["type"]


def test_history_downloads_as_json_lines(api: httpx.Client) -> None:
    execution_id = create(api, DIAMOND)
    wait_finished(api, execution_id)
    events = full_history(api, execution_id)

    response = api.get(f"/api/v1/executions/{execution_id}/history", params={"format": "jsonl"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert f"{execution_id}.jsonl" in response.headers["content-disposition"]
    assert [json.loads(line) for line in response.text.splitlines()] == events


def test_history_of_an_unknown_execution_is_a_404(api: httpx.Client) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    assert api.get(f"/api/v1/executions/{missing}/history").status_code == 404
    bad = api.get(f"/api/v1/executions/{missing}/history", params={"format": "xml"})
    assert bad.status_code == 422
