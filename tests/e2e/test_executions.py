"""Executions end to end: through the public API, the four services as processes."""

from datetime import datetime

import httpx

from .conftest import logs_until, wait_finished


def step(step_id: str, script: str, *needs: str) -> dict[str, object]:
    return {"id": step_id, "needs": list(needs), "run": {"command": ["sh", "-c", script]}}


DIAMOND = {
    "workflow": {
        "steps": [
            step("fetch", "echo fetching; echo 42 > out"),
            step("left", "echo left; cat out; sleep 0.5", "fetch"),
            step("right", "echo right >&2; sleep 0.5", "fetch"),
            step("join", "echo done", "left", "right"),
        ]
    },
    "input": {"who": "me"},
    "metadata": {"team": "infra"},
}


def create(api: httpx.Client, body: dict[str, object]) -> str:
    response = api.post("/api/v1/executions", json=body)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending"
    return str(response.json()["id"])


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_the_diamond_completes_with_its_branches_in_parallel(api: httpx.Client) -> None:
    execution_id = create(api, DIAMOND)
    body = wait_finished(api, execution_id)

    assert body["status"] == "completed"
    assert body["input"] == {"who": "me"}
    assert body["metadata"] == {"team": "infra"}
    assert body["n_steps"] == 4
    assert body["duration_ms"] >= 500
    steps = {s["id"]: s for s in body["steps"]}
    assert all(s["status"] == "succeeded" and s["exit_code"] == 0 for s in steps.values())
    assert all(s["attempts"] == 1 for s in steps.values())
    left, right, join = steps["left"], steps["right"], steps["join"]
    assert at(left["started_at"]) < at(right["finished_at"])
    assert at(right["started_at"]) < at(left["finished_at"]), "left and right did not overlap"
    assert at(join["started_at"]) >= max(at(left["finished_at"]), at(right["finished_at"]))
    for field in ("created_at", "started_at", "completed_at"):
        assert body[field]
    # It started when its first step did, not when that start was heard.
    assert at(body["started_at"]) <= at(steps["fetch"]["started_at"])


def test_transitions_record_every_move(api: httpx.Client) -> None:
    execution_id = create(api, DIAMOND)
    wait_finished(api, execution_id)
    transitions = api.get(f"/api/v1/executions/{execution_id}/transitions").json()["items"]
    moves = [(t["type"], t["from"], t["to"]) for t in transitions if t["type"] != "step"]
    assert moves == [
        ("init", None, "pending"),
        ("queue", "pending", "queued"),
        ("start", "queued", "starting"),
        ("start", "starting", "running"),
        ("finish", "running", "completed"),
    ]
    steps = [t["reason"] for t in transitions if t["type"] == "step"]
    assert sorted(steps) == sorted(
        f"step '{s}' succeeded" for s in ("fetch", "left", "right", "join")
    )
    assert all(t["at"] and t["actor"] for t in transitions)
    assert [t["version"] for t in transitions] == sorted(t["version"] for t in transitions)


def test_logs_are_served_per_step_with_their_stream(api: httpx.Client) -> None:
    execution_id = create(api, DIAMOND)
    wait_finished(api, execution_id)
    lines = logs_until(api, execution_id, lambda lines: len(lines) >= 5)
    seen = {(ln["step_id"], ln["stream"], ln["line"]) for ln in lines}
    assert seen == {
        ("fetch", "stdout", "fetching"),
        ("left", "stdout", "left"),
        ("left", "stdout", "42"),  # read from the workspace `fetch` wrote
        ("right", "stderr", "right"),
        ("join", "stdout", "done"),
    }
    only_left = api.get(f"/api/v1/executions/{execution_id}/logs", params={"step": "left"})
    assert [ln["line"] for ln in only_left.json()["items"]] == ["left", "42"]


def test_a_failing_step_fails_the_execution_and_its_dependents_do_not_run(
    api: httpx.Client,
) -> None:
    execution_id = create(
        api,
        {
            "workflow": {
                "steps": [
                    step("ok", "true"),
                    step("boom", "echo about to fail >&2; exit 3", "ok"),
                    step("after", "echo should not run", "boom"),
                ]
            }
        },
    )
    body = wait_finished(api, execution_id)
    assert body["status"] == "failed"
    assert body["error"] == {
        "step_id": "boom",
        "exit_code": 3,
        "message": "exited with code 3",
        "kind": "exit",
    }
    steps = {s["id"]: s for s in body["steps"]}
    assert steps["boom"]["status"] == "failed"
    assert steps["boom"]["exit_code"] == 3
    assert steps["after"]["status"] == "cancelled"
    assert steps["after"]["started_at"] is None
    logs = api.get(f"/api/v1/executions/{execution_id}/logs").json()["items"]
    assert "should not run" not in {ln["line"] for ln in logs}
    transitions = api.get(f"/api/v1/executions/{execution_id}/transitions").json()["items"]
    assert transitions[-1]["type"] == "error"
    assert transitions[-1]["to"] == "failed"
    assert transitions[-2]["type"] == "step"
    assert transitions[-2]["reason"] == "step 'boom' failed: exited with code 3"


def test_a_command_that_cannot_start_fails_with_a_reason(api: httpx.Client) -> None:
    execution_id = create(
        api, {"workflow": {"steps": [{"id": "x", "run": {"command": ["/no/such/program"]}}]}}
    )
    body = wait_finished(api, execution_id)
    assert body["status"] == "failed"
    assert body["error"]["exit_code"] is None
    assert "cannot start '/no/such/program'" in body["error"]["message"]


def test_listing_filters_by_status(api: httpx.Client) -> None:
    ok = create(api, {"workflow": {"steps": [step("a", "true")]}})
    bad = create(api, {"workflow": {"steps": [step("a", "false")]}})
    wait_finished(api, ok)
    wait_finished(api, bad)
    completed = api.get("/api/v1/executions", params={"status": "completed", "limit": 500})
    ids = {e["id"] for e in completed.json()["items"]}
    assert ok in ids
    assert bad not in ids
    both = api.get("/api/v1/executions", params=[("status", "completed"), ("status", "failed")])
    assert {ok, bad} <= {e["id"] for e in both.json()["items"]}


def test_pages_follow_the_cursor_without_gaps_or_repeats(api: httpx.Client) -> None:
    created = [create(api, {"workflow": {"steps": [step("a", "true")]}}) for _ in range(5)]
    for execution_id in created:
        wait_finished(api, execution_id)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/v1/executions", params=params).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert set(created) <= set(seen)
