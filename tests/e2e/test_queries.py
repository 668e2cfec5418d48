"""Listing through the API: columns filled from events, filters, and refusals."""

from datetime import datetime, timedelta

import httpx
import pytest

from .conftest import wait_finished
from .test_executions import create, step


def test_queue_worker_and_metadata_filters_find_the_execution(api: httpx.Client) -> None:
    body = {
        "workflow": {"steps": [{**step("a", "true"), "queue": "default"}]},
        "metadata": {"team": "search-e2e", "agent_id": "bot-1", "priority": 2},
    }
    execution_id = create(api, body)
    done = wait_finished(api, execution_id)
    assert done["queue"] == "default"
    assert done["worker"]

    def found(params: dict[str, str]) -> set[str]:
        response = api.get("/api/v1/executions", params=params)
        assert response.status_code == 200, response.text
        return {e["id"] for e in response.json()["items"]}

    assert execution_id in found({"metadata.team": "search-e2e", "queue": "default"})
    assert execution_id in found({"agent_id": "bot-1", "worker": done["worker"]})
    assert execution_id in found({"metadata.priority": "2", "status": "completed"})
    assert execution_id in found({"q": execution_id[:13]})
    assert execution_id not in found({"metadata.team": "search-e2e", "status": "failed"})
    assert execution_id not in found({"metadata.team": "other"})
    page = api.get("/api/v1/executions", params={"sort": "duration", "order": "asc"}).json()
    assert all("workflow" not in e for e in page["items"]), "summaries leave the workflow out"


def test_invalid_filters_are_refused_with_a_reason(api: httpx.Client) -> None:
    cases = {
        "status=finished": "status",
        "created_after=yesterday": "created_after",
        "sort=size": "sort",
        "order=sideways": "order",
        "limit=0": "limit",
        "parent_id=42": "parent_id",
        "cursor=xyz": "invalid cursor",
        "metadata.=x": "need a key",
    }
    for query, reason in cases.items():
        response = api.get(f"/api/v1/executions?{query}")
        assert 400 <= response.status_code < 500, query
        assert reason in response.text, (query, response.text)


def test_metrics_count_a_finished_run_and_refuse_bad_ranges(api: httpx.Client) -> None:
    execution_id = create(api, {"workflow": {"steps": [step("a", "true")]}})
    done = wait_finished(api, execution_id)
    window = {"from": done["created_at"], "bucket": "minute", "group_by": "status"}
    response = api.get("/api/v1/metrics", params=window)
    assert response.status_code == 200, response.text
    completed = [m for m in response.json()["items"] if m["status"] == "completed"]
    assert sum(m["completed"] for m in completed) >= 1
    assert all(m["success_rate"] == 1.0 for m in completed)

    assert api.get("/api/v1/metrics", params={"bucket": "week"}).status_code == 422
    backwards = {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    assert "before" in api.get("/api/v1/metrics", params=backwards).text
    too_many = {"from": "2000-01-01T00:00:00Z", "bucket": "minute"}
    assert api.get("/api/v1/metrics", params=too_many).status_code == 400


def test_worker_utilisation_is_its_busy_time_over_the_window_and_its_capacity(
    api: httpx.Client,
) -> None:
    execution_id = create(api, {"workflow": {"steps": [step("a", "sleep 0.5")]}})
    done = wait_finished(api, execution_id)
    attempt = done["attempts"][0]
    started = datetime.fromisoformat(attempt["started_at"])
    finished = datetime.fromisoformat(attempt["finished_at"])
    # From its start: the steps of the tests before it (on the same runner) ended before
    # it started, but may have ended within a second of it (a sandboxed start takes ms).
    window = {
        "from": started.isoformat(),
        "to": (finished + timedelta(seconds=1)).isoformat(),
        "bucket": "minute",
    }
    body = api.get("/api/v1/metrics", params=window).json()
    worker = next(w for w in body["workers"] if w["worker"] == attempt["worker"])
    busy = (finished - started).total_seconds()
    seconds = (finished - started).total_seconds() + 1
    assert worker["busy_s"] == pytest.approx(busy, abs=0.02)
    assert worker["capacity"] == 16
    assert worker["utilisation"] == pytest.approx(busy / seconds / 16, abs=0.002)
