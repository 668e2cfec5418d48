"""Live streams (SSE) on the real stack: first the state, then every change, resumable.

The API here has a fallback interval longer than any test: its streams move only on the
projector's change notices, so every stream that ends here proves they arrive."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from execflow.sse import EventSource, ServerEvent
from execflow_devstack import Stack

from .conftest import running_stack, wait_finished, wait_until
from .test_executions import create, step

SLOW = {
    "workflow": {
        "steps": [
            step("first", "for i in 1 2 3; do echo line$i; sleep 0.3; done"),
            step("second", "echo err >&2; sleep 0.3", "first"),
        ]
    }
}


@pytest.fixture(scope="module")
def stack(
    nats_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    home: Path = tmp_path_factory.mktemp("stack")
    with running_stack(
        nats_url, database_url, home, {"EXECFLOW_LIVE_FALLBACK_S": "3600"}
    ) as running:
        yield running


@contextmanager
def stream(
    api: httpx.Client, path: str, headers: dict[str, str] | None = None, **params: Any
) -> Iterator[Iterator[ServerEvent]]:
    with api.stream("GET", path, headers=headers, params=params, timeout=20) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield EventSource(response).iter_sse()


def created(api: httpx.Client, body: dict[str, object]) -> str:
    """An execution the read models know already (a stream of an unknown one is a 404)."""
    execution_id = create(api, body)
    wait_until(api, execution_id, lambda _: True)
    return execution_id


def versions(events: list[ServerEvent]) -> list[int]:
    return [int(e.id or 0) for e in events]


def test_events_stream_the_state_then_every_event_until_the_end(api: httpx.Client) -> None:
    execution_id = created(api, SLOW)
    with stream(api, f"/api/v1/executions/{execution_id}/events", token="ignored") as events:
        received = list(events)
    snapshot, changes = received[0], received[1:]
    assert snapshot.event == "snapshot"
    assert snapshot.json()["id"] == execution_id
    assert int(snapshot.id or 0) == snapshot.json()["version"]
    assert versions(changes) == list(range(int(snapshot.id or 0) + 1, versions(received)[-1] + 1))
    assert changes[-1].event == "ExecutionCompleted"
    assert changes[-1].json()["to_status"] == "completed"
    assert {"StepStarted", "StepSucceeded"} <= {e.event for e in changes}
    history = api.get(f"/api/v1/executions/{execution_id}/history").json()["items"]
    later = [h for h in history if h["version"] > int(snapshot.id or 0)]
    assert [h["version"] for h in later] == versions(changes)
    # Each change is the stored event: its type and its whole body.
    assert [(e.event, e.json()) for e in changes] == [(h["type"], h["body"]) for h in later]


def test_a_reconnect_with_last_event_id_misses_nothing_and_repeats_nothing(
    api: httpx.Client,
) -> None:
    execution_id = created(api, SLOW)
    path = f"/api/v1/executions/{execution_id}/events"
    with stream(api, path) as events:
        before = [next(events), next(events)]  # the snapshot and one change, then drop
    with stream(api, path, headers={"Last-Event-ID": before[-1].id or ""}) as events:
        after = list(events)
    assert "snapshot" not in {e.event for e in after}
    seen = versions(before) + versions(after)
    assert seen == list(range(seen[0], seen[-1] + 1))
    assert after[-1].event == "ExecutionCompleted"


def test_a_finished_execution_streams_its_state_and_ends(api: httpx.Client) -> None:
    execution_id = create(api, {"workflow": {"steps": [step("a", "true")]}})
    wait_finished(api, execution_id)
    with stream(api, f"/api/v1/executions/{execution_id}/events") as events:
        received = list(events)
    assert [e.event for e in received] == ["snapshot"]
    assert received[0].json()["status"] == "completed"


def test_logs_follow_streams_every_line_until_the_end(api: httpx.Client) -> None:
    execution_id = created(api, SLOW)
    path = f"/api/v1/executions/{execution_id}/logs"
    with stream(api, path, follow="true") as events:
        received = list(events)
    lines, end = received[:-1], received[-1]
    assert [(e.json()["step_id"], e.json()["line"]) for e in lines] == [
        ("first", "line1"),
        ("first", "line2"),
        ("first", "line3"),
        ("second", "err"),
    ]
    assert [int(e.id or 0) for e in lines] == [e.json()["id"] for e in lines]
    assert end.event == "end"
    assert end.json() == {"status": "completed"}

    # Accept: text/event-stream streams too; Last-Event-ID resumes after that line.
    headers = {"Accept": "text/event-stream", "Last-Event-ID": lines[0].id or ""}
    with stream(api, path, headers=headers, step="first") as events:
        resumed = [e.json()["line"] for e in events if e.event == "line"]
    assert resumed == ["line2", "line3"]


def test_log_pages_follow_the_cursor(api: httpx.Client) -> None:
    execution_id = created(api, SLOW)
    wait_finished(api, execution_id)
    path = f"/api/v1/executions/{execution_id}/logs"
    texts: list[str] = []
    after = 0
    while after is not None:
        page = api.get(path, params={"after": after, "limit": 3}).json()
        texts += [line["line"] for line in page["items"]]
        after = page["next_cursor"]
    assert texts == ["line1", "line2", "line3", "err"]


def test_streams_of_an_unknown_execution_are_404(api: httpx.Client) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    assert api.get(f"/api/v1/executions/{missing}/events").status_code == 404
    assert api.get(f"/api/v1/executions/{missing}/logs", params={"follow": True}).status_code == 404


def test_a_stream_opened_with_wait_at_once_after_the_create_follows_it_all(
    api: httpx.Client,
) -> None:
    # The create is accepted before it is projected: without `wait` this could be a 404.
    execution_id = create(api, SLOW)
    path = f"/api/v1/executions/{execution_id}/events"
    with stream(api, path, wait=10) as events:
        received = list(events)
    assert received[0].event == "snapshot"
    assert received[-1].event == "ExecutionCompleted"
    versions_seen = versions(received)
    assert versions_seen == list(range(versions_seen[0], versions_seen[-1] + 1))


def test_waiting_for_an_execution_that_never_comes_ends_in_404(api: httpx.Client) -> None:
    path = f"/api/v1/executions/{uuid.uuid4()}/events"
    response = api.get(path, params={"wait": 0.5})
    assert response.status_code == 404
    assert "not found" in response.json()["reason"]
    too_long = api.get(path, params={"wait": 61})
    assert too_long.status_code == 422
    assert "wait" in too_long.text


def test_the_overview_counts_and_streams_changes(api: httpx.Client) -> None:
    wait_finished(api, create(api, {"workflow": {"steps": [step("a", "true")]}}))
    overview = api.get("/api/v1/engine/overview").json()
    assert overview["counts"]["completed"] >= 1
    assert set(overview["counts"]) >= {"pending", "running", "failed", "cancelled"}
    assert [w["queues"] for w in overview["workers"]] == [["default"]]
    assert all({"queue", "waiting", "leased"} <= set(q) for q in overview["queues"])

    path = "/api/v1/engine/overview/stream"
    with stream(api, path, token="ignored") as events:
        first = next(events)
    assert first.event == "overview"
    with stream(api, path, headers={"Last-Event-ID": first.id or ""}) as events:
        # The state was seen already: the next event is a change, made here.
        execution_id = create(api, {"workflow": {"steps": [step("a", "true")]}})
        changed = next(events)
    assert changed.id != first.id
    wait_finished(api, execution_id)


def test_readiness_says_whether_live_streams_are_notified(api: httpx.Client) -> None:
    ready = api.get("/readyz").json()
    assert ready["ready"] is True
    assert ready["live_streams"] == "notified"
