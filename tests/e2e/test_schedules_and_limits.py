"""Schedules, concurrency keys and priorities end to end, through the API."""

import itertools
import secrets
import time
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest

from execflow_devstack import ServiceProcess, Stack

from .conftest import create, sh, wait_finished, wait_for, wait_status, wait_until


def register(api: httpx.Client, definition: dict[str, Any]) -> str:
    workflow_id = f"wf-{uuid.uuid4().hex[:8]}"
    response = api.post("/api/v1/workflows", json={"id": workflow_id, **definition})
    assert response.status_code == 201, response.text
    return workflow_id


def fired_by(api: httpx.Client, schedule_id: str) -> list[dict[str, Any]]:
    """The executions `?schedule_id=` finds, checked against their metadata."""
    params = {"schedule_id": schedule_id, "limit": 500}
    items: list[dict[str, Any]] = api.get("/api/v1/executions", params=params).json()["items"]
    for execution in items:
        assert execution["schedule_id"] == execution["metadata"]["schedule_id"] == schedule_id
    return items


def test_a_schedule_fires_pauses_resumes_and_is_deleted(api: httpx.Client) -> None:
    workflow_id = register(api, {"steps": [sh("tick", "echo tick")]})
    response = api.post(
        "/api/v1/schedules",
        json={"workflow_id": workflow_id, "every": "2s", "input": {"n": 1}},
    )
    assert response.status_code == 201, response.text
    schedule_id = response.json()["id"]
    wait_for(lambda: len(fired_by(api, schedule_id)) >= 2, timeout_s=15, what="two fires")
    for execution in fired_by(api, schedule_id):
        # One id per (schedule, fire time): a fire sent twice is one execution.
        fire_time = execution["metadata"]["scheduled_for"]
        assert execution["id"] == str(uuid.uuid5(uuid.UUID(schedule_id), fire_time))
        assert execution["workflow_id"] == workflow_id
        assert execution["input"] == {"n": 1}

    paused = api.post(f"/api/v1/schedules/{schedule_id}/pause").json()
    assert paused["status"] == "paused"
    wait_for(lambda: len(fired_by(api, schedule_id)) == paused["fires"], what="fires projected")
    time.sleep(4.5)  # more than two intervals: a paused schedule fires nothing
    assert api.get(f"/api/v1/schedules/{schedule_id}").json()["fires"] == paused["fires"]
    assert len(fired_by(api, schedule_id)) == paused["fires"]

    resumed = api.post(f"/api/v1/schedules/{schedule_id}/resume").json()
    assert resumed["status"] == "active"
    wait_for(lambda: len(fired_by(api, schedule_id)) > paused["fires"], what="a fire after resume")
    for execution in fired_by(api, schedule_id):
        assert wait_finished(api, execution["id"])["status"] == "completed"

    listed = api.get("/api/v1/schedules", params={"workflow_id": workflow_id}).json()["items"]
    assert [s["id"] for s in listed] == [schedule_id]
    assert api.delete(f"/api/v1/schedules/{schedule_id}").status_code == 204
    assert api.get(f"/api/v1/schedules/{schedule_id}").status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"cron": "0 25 * * *"}, 422, "cron: not a cron expression"),
        ({"cron": "0 2 * * *", "timezone": "Mars/Olympus"}, 422, "timezone: unknown time zone"),
        ({"cron": "0 2 * * *", "every": "1m"}, 422, "give either `cron` or `every`"),
        ({}, 422, "give either `cron` or `every`"),
        ({"every": "1m", "catchup": "all"}, 422, "catchup"),
        ({"every": "1m", "input": {"n": "one"}}, 422, "input.n: 'one' is not of type 'integer'"),
        ({"every": "1m", "workflow_id": "nobody"}, 404, "nobody"),
    ],
)
def test_bad_schedules_are_refused_with_the_reason(
    api: httpx.Client, body: dict[str, Any], status: int, reason: str
) -> None:
    inputs = {"type": "object", "properties": {"n": {"type": "integer"}}}
    workflow_id = register(api, {"inputs": inputs, "steps": [sh("a", "true")]})
    response = api.post("/api/v1/schedules", json={"workflow_id": workflow_id, "input": {}} | body)
    assert response.status_code == status, response.text
    assert reason in response.json()["reason"]


def test_a_concurrency_key_of_one_serialises_executions(api: httpx.Client) -> None:
    workflow_id = register(
        api,
        {
            "inputs": {"type": "object", "required": ["customer"]},
            "concurrency": {"key": "{{ inputs.customer }}", "max": 1},
            "steps": [sh("work", "sleep 1")],
        },
    )
    execute = f"/api/v1/workflows/{workflow_id}/execute"
    ids = [
        api.post(execute, json={"inputPayload": {"customer": "acme"}}).json()["id"]
        for _ in range(3)
    ]
    # The last waits in `queued` for the key, and says so.
    waiting = wait_until(
        api, ids[-1], lambda b: b["status"] == "queued" and "concurrency key" in b["message"]
    )
    assert "concurrency key 'acme' (at most 1 at once)" in waiting["message"]
    bodies = [wait_finished(api, i, timeout_s=30) for i in ids]
    assert all(b["status"] == "completed" for b in bodies)
    intervals = sorted(
        (
            datetime.fromisoformat(b["steps"][0]["started_at"]),
            datetime.fromisoformat(b["steps"][0]["finished_at"]),
        )
        for b in bodies
    )
    for (_, earlier_end), (later_start, _) in itertools.pairwise(intervals):
        assert later_start >= earlier_end, intervals


def test_priorities_reorder_a_backlog_on_a_runner_of_capacity_one(
    api: httpx.Client, stack: Stack
) -> None:
    queue = f"prio-{uuid.uuid4().hex[:8]}"
    limit = api.put(f"/api/v1/queues/{queue}", json={"max_running": 1})
    assert limit.status_code == 200, limit.text
    runner = ServiceProcess(
        "runner",
        stack.config,
        env={"EXECFLOW_QUEUES": queue, "EXECFLOW_CAPACITY": "1", "EXECFLOW_WORKER_ID": queue},
    ).start()
    try:

        def on_queue(step: dict[str, Any], priority: int = 0) -> dict[str, Any]:
            workflow = {"defaults": {"queue": queue}, "steps": [step]}
            return {"workflow": workflow, "priority": priority}

        blocker = create(
            api,
            on_queue(sh("block", "while [ ! -f go ]; do sleep 0.05; done")),
        )
        wait_status(api, blocker, "running")
        backlog = {
            name: create(api, on_queue(sh("s", "true"), priority))
            for name, priority in [("low", 1), ("mid", 5), ("high", 10), ("low2", 1)]
        }
        for execution_id in backlog.values():
            wait_status(api, execution_id, "queued")
        (stack.config.work_dir / blocker / "go").touch()  # the blocker's workspace
        started = {}
        for name, execution_id in {"blocker": blocker, **backlog}.items():
            body = wait_finished(api, execution_id)
            assert body["status"] == "completed"
            started[name] = body["attempts"][0]["started_at"]
        # One runner with one slot: they ran one after the other, in this order.
        assert sorted(started, key=lambda name: started[name]) == [
            "blocker",
            "high",
            "mid",
            "low",
            "low2",
        ]
    finally:
        runner.stop()


def test_a_scheduler_killed_mid_schedule_neither_loses_nor_doubles_a_fire(
    api: httpx.Client, stack: Stack
) -> None:
    workflow_id = register(api, {"steps": [sh("tick", "true")]})
    response = api.post(
        "/api/v1/schedules", json={"workflow_id": workflow_id, "every": "1s", "catchup": "once"}
    )
    schedule_id = response.json()["id"]
    wait_for(lambda: len(fired_by(api, schedule_id)) >= 2, timeout_s=15, what="two fires")
    stack.services["scheduler"].kill()
    time.sleep(7)  # past the 5 s grace: the fires missed meanwhile are caught up once
    stack.services["scheduler"].start()
    before = len(fired_by(api, schedule_id))
    wait_for(lambda: len(fired_by(api, schedule_id)) >= before + 3, timeout_s=30, what="fires")
    api.post(f"/api/v1/schedules/{schedule_id}/pause")
    fires = api.get(f"/api/v1/schedules/{schedule_id}").json()["fires"]
    wait_for(lambda: len(fired_by(api, schedule_id)) == fires, what="every fire projected")
    times = sorted(e["metadata"]["scheduled_for"] for e in fired_by(api, schedule_id))
    assert len(times) == len(set(times)) == fires  # each counted fire is one execution
    gaps = [
        (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()
        for a, b in itertools.pairwise(times)
    ]
    # One second apart but for one gap: the outage, caught up by a single fire.
    assert sum(1 for g in gaps if g > 1.5) <= 2
    assert all(g >= 0.99 for g in gaps)


def test_a_schedule_too_large_to_fire_says_so_and_blocks_no_other(api: httpx.Client) -> None:
    # Small when scheduled; its workflow's next version is too large to send at fire time.
    # That fire used to fail the whole pass, so that no schedule fired any more.
    big = register(api, {"steps": [sh("a", "true")]})
    doomed = api.post("/api/v1/schedules", json={"workflow_id": big, "every": "1s"}).json()
    steps = [sh(f"s{i}", f"echo {'x' * 900}") for i in range(1000)]  # about 1.2 MB
    grown = api.post("/api/v1/workflows", json={"id": big, "steps": steps})
    assert grown.status_code == 201, grown.text
    small = register(api, {"steps": [sh("tick", "true")]})
    healthy = api.post("/api/v1/schedules", json={"workflow_id": small, "every": "1s"}).json()

    def said() -> bool:
        error = api.get(f"/api/v1/schedules/{doomed['id']}").json()["last_error"] or ""
        return "bytes as a command; at most 983040 fit" in error

    wait_for(said, timeout_s=15, what="the large schedule's error")
    wait_for(lambda: len(fired_by(api, healthy["id"])) >= 2, timeout_s=15, what="other fires")
    assert fired_by(api, doomed["id"]) == []
    too_large = api.post(
        "/api/v1/schedules", json={"workflow_id": small, "every": "1m", "input": "i" * 1_000_000}
    )
    assert too_large.status_code == 413
    for schedule in (doomed, healthy):
        api.delete(f"/api/v1/schedules/{schedule['id']}")


def test_a_concurrency_key_too_long_fails_the_step_with_the_reason(api: httpx.Client) -> None:
    # A gate is a key in a b-tree index, which PostgreSQL refuses past about 2.7 KB.
    body = {
        "workflow": {
            "concurrency": {"key": "{{ inputs.customer }}", "max": 1},
            "steps": [sh("work", "true")],
        },
        "input": {"customer": secrets.token_hex(1500)},
    }
    done = wait_finished(api, create(api, body))
    assert done["status"] == "failed"
    reason = "the concurrency key renders to 3000 characters; at most 256"
    assert reason in done["steps"][0]["error"]
