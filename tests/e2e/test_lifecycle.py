"""The execution lifecycle end to end: retries, timeouts, cancel, input, retry-as-new,
children, idempotency, progress, TTL — through the API, the services as processes."""

import time
import uuid
from typing import Any

import httpx

from execflow_devstack import Stack

from .conftest import (
    alive,
    create,
    host_pid,
    logs_until,
    sh,
    wait_finished,
    wait_for,
    wait_status,
    wait_until,
)

# A step that records its pid in the workspace, so tests can see its process end.
PID_THEN_SLEEP = "echo $$ > {name}.pid; exec sleep 60"


def pid_of(stack: Stack, execution_id: str, name: str) -> int:
    """The host pid of the process that wrote its pid (as its sandbox sees it)."""
    path = stack.config.work_dir / execution_id / f"{name}.pid"
    wait_for(lambda: path.exists() and path.read_text().strip() != "", what=f"{path}")
    return host_pid(execution_id, int(path.read_text()))


def moves(api: httpx.Client, execution_id: str) -> list[tuple[str, str | None, str]]:
    items = api.get(f"/api/v1/executions/{execution_id}/transitions").json()["items"]
    return [(t["type"], t["from"], t["to"]) for t in items if t["type"] != "step"]


def test_a_flaky_step_is_retried_with_backoff_and_every_attempt_is_kept(
    api: httpx.Client,
) -> None:
    flaky = 'n=$(cat tries 2>/dev/null || echo 0); n=$((n+1)); echo $n > tries; [ "$n" -ge 3 ]'
    retry = {"max_attempts": 3, "backoff": {"initial": "200ms", "factor": 2, "jitter": 0}}
    execution_id = create(api, {"workflow": {"steps": [sh("flaky", flaky, retry=retry)]}})
    body = wait_finished(api, execution_id)
    assert body["status"] == "completed"
    attempts = [(a["attempt"], a["status"], a["exit_code"]) for a in body["attempts"]]
    assert attempts == [(1, "failed", 1), (2, "failed", 1), (3, "succeeded", 0)]
    assert all(a["worker"] and a["started_at"] and a["finished_at"] for a in body["attempts"])
    assert body["steps"][0]["attempts"] == 3
    assert moves(api, execution_id) == [
        ("init", None, "pending"),
        ("queue", "pending", "queued"),
        ("start", "queued", "starting"),
        ("start", "starting", "running"),
        ("retry", "running", "backoff"),
        ("queue", "backoff", "queued"),
        ("start", "queued", "starting"),
        ("start", "starting", "running"),
        ("retry", "running", "backoff"),
        ("queue", "backoff", "queued"),
        ("start", "queued", "starting"),
        ("start", "starting", "running"),
        ("finish", "running", "completed"),
    ]


def test_exit_codes_that_are_not_retried_fail_at_once(api: httpx.Client) -> None:
    retry = {"max_attempts": 5, "backoff": {"initial": "100ms"}, "no_retry_exit_codes": [4]}
    execution_id = create(api, {"workflow": {"steps": [sh("a", "exit 4", retry=retry)]}})
    body = wait_finished(api, execution_id)
    assert body["status"] == "failed"
    assert len(body["attempts"]) == 1


def test_an_attempt_over_its_timeout_is_stopped_and_fails(api: httpx.Client, stack: Stack) -> None:
    execution_id = create(
        api,
        {
            "workflow": {
                "steps": [sh("slow", PID_THEN_SLEEP.format(name="slow"), timeout={"attempt": "1s"})]
            }
        },
    )
    pid = pid_of(stack, execution_id, "slow")
    body = wait_finished(api, execution_id)
    assert body["status"] == "failed"
    assert body["error"]["kind"] == "timeout"
    assert body["error"]["message"] == "timed out after 1s"
    wait_for(lambda: not alive(pid), 5, "the timed-out process to be gone")


def test_an_execution_over_its_overall_timeout_ends_timed_out(
    api: httpx.Client, stack: Stack
) -> None:
    execution_id = create(
        api,
        {
            "workflow": {
                "steps": [
                    sh("slow", PID_THEN_SLEEP.format(name="slow")),
                    sh("next", "true", "slow"),
                ],
                "timeout": {"overall": 1.5},
            }
        },
    )
    pid = pid_of(stack, execution_id, "slow")
    body = wait_finished(api, execution_id)
    assert body["status"] == "timed_out"
    assert body["stopped_steps"] == ["slow"]
    steps = {s["id"]: s["status"] for s in body["steps"]}
    assert steps["next"] == "cancelled"
    assert moves(api, execution_id)[-1] == ("timeout", "running", "timed_out")
    wait_for(lambda: not alive(pid), 5, "the timed-out process to be gone")


def test_cancel_stops_the_running_process_and_cancels_what_waits(
    api: httpx.Client, stack: Stack
) -> None:
    execution_id = create(
        api,
        {
            "workflow": {
                "steps": [
                    sh("long", PID_THEN_SLEEP.format(name="long")),
                    sh("after", "true", "long"),
                ]
            }
        },
    )
    pid = pid_of(stack, execution_id, "long")
    # Its process runs; the scheduler knows it runs once the runner's start report is in
    # (a loaded machine can hold that back), and only a step it knows runs is "stopped".
    wait_until(api, execution_id, lambda b: any(s["status"] == "running" for s in b["steps"]))
    asked = time.monotonic()
    response = api.post(f"/api/v1/executions/{execution_id}/cancel", json={"reason": "enough"})
    assert response.status_code == 202, response.text
    assert response.json()["applied"] is True
    wait_for(lambda: not alive(pid), 10, "the cancelled process to be gone")
    print(f"cancel: request to process gone in {(time.monotonic() - asked) * 1000:.0f} ms")
    body = wait_status(api, execution_id, "cancelled")
    assert body["stopped_steps"] == ["long"]
    steps = {s["id"]: s["status"] for s in body["steps"]}
    assert steps == {"long": "cancelled", "after": "cancelled"}
    assert moves(api, execution_id)[-2:] == [
        ("cancel", "running", "cancelling"),
        ("cancel", "cancelling", "cancelled"),
    ]
    transitions = api.get(f"/api/v1/executions/{execution_id}/transitions").json()["items"]
    cancelling = next(t for t in transitions if t["to"] == "cancelling")
    assert cancelling["reason"] == "enough"
    # The actor is the API key that asked: efk_<id>_<secret> is recorded as key:<id>.
    assert stack.config.api_key is not None
    assert cancelling["actor"] == f"key:{stack.config.api_key.split('_')[1]}"

    again = api.post(f"/api/v1/executions/{execution_id}/cancel")
    assert again.status_code == 409
    assert "nothing to cancel" in again.json()["reason"]


def test_a_step_that_ignores_sigterm_is_killed_after_the_grace_period(
    api: httpx.Client, stack: Stack
) -> None:
    stubborn = "trap '' TERM; echo $$ > stubborn.pid; while true; do sleep 0.1; done"
    execution_id = create(api, {"workflow": {"steps": [sh("stubborn", stubborn)]}})
    pid = pid_of(stack, execution_id, "stubborn")
    assert api.post(f"/api/v1/executions/{execution_id}/cancel").status_code == 202
    time.sleep(0.5)
    assert alive(pid), "it got less than the grace period"
    wait_for(lambda: not alive(pid), 10, "SIGKILL after the grace period")
    assert wait_finished(api, execution_id)["status"] == "cancelled"


def test_queued_work_never_starts_once_cancelled(api: httpx.Client, stack: Stack) -> None:
    # A queue no runner serves: the step stays queued.
    execution_id = create(
        api, {"workflow": {"steps": [sh("waits", "echo ran > ran", queue="nobody-serves")]}}
    )
    wait_status(api, execution_id, "queued")
    assert api.post(f"/api/v1/executions/{execution_id}/cancel").status_code == 202
    body = wait_status(api, execution_id, "cancelled")
    assert body["steps"][0]["status"] == "cancelled"
    assert body["stopped_steps"] == []


def test_change_status_cancels_and_refuses_anything_else(api: httpx.Client, stack: Stack) -> None:
    execution_id = create(
        api, {"workflow": {"steps": [sh("long", PID_THEN_SLEEP.format(name="long"))]}}
    )
    pid_of(stack, execution_id, "long")
    refused = api.patch(f"/api/v1/executions/{execution_id}", json={"status": "completed"})
    assert refused.status_code == 409
    assert "only be changed to 'cancelled', or to 'running'" in refused.json()["reason"]
    patched = api.patch(f"/api/v1/executions/{execution_id}", json={"status": "cancelled"})
    assert patched.status_code == 202
    assert wait_finished(api, execution_id)["status"] == "cancelled"


def test_commands_for_unknown_executions_are_404(api: httpx.Client) -> None:
    unknown = uuid.uuid4()
    for action in ("cancel", "retry"):
        response = api.post(f"/api/v1/executions/{unknown}/{action}")
        assert response.status_code == 404, response.text
    response = api.post(f"/api/v1/executions/{unknown}/resume", json={"input": 1})
    assert response.status_code == 404


def test_an_input_step_waits_validates_the_answer_and_goes_on(api: httpx.Client) -> None:
    schema = {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}}
    execution_id = create(
        api,
        {
            "workflow": {
                "steps": [
                    {"id": "approve", "type": "input", "prompt": "ship it?", "schema": schema},
                    sh("ship", "echo shipping", "approve"),
                ]
            }
        },
    )
    body = wait_status(api, execution_id, "awaiting_input")
    approve = body["steps"][0]
    assert (approve["status"], approve["prompt"], approve["schema"]) == (
        "awaiting_input",
        "ship it?",
        schema,
    )
    invalid = api.post(f"/api/v1/executions/{execution_id}/resume", json={"input": {"ok": "yes"}})
    assert invalid.status_code == 422
    assert "'yes' is not of type 'boolean'" in invalid.json()["reason"]
    ok = api.post(f"/api/v1/executions/{execution_id}/resume", json={"input": {"ok": True}})
    assert ok.status_code == 202, ok.text
    body = wait_finished(api, execution_id)
    assert body["status"] == "completed"
    assert body["steps"][0]["output"] == {"ok": True}
    assert ("wait", "pending", "awaiting_input") in moves(api, execution_id)
    late = api.post(f"/api/v1/executions/{execution_id}/resume", json={"input": {"ok": True}})
    assert late.status_code == 409
    assert "not waiting for input" in late.json()["reason"]


def test_a_running_step_asks_through_the_step_protocol(api: httpx.Client) -> None:
    ask = (
        'echo \'{"type":"question","prompt":"which branch?","schema":{"type":"string"}}\''
        ' >> "$EXECFLOW_EVENTS";'
        ' while [ ! -s "$EXECFLOW_ANSWER" ]; do sleep 0.05; done;'
        ' echo "got $(cat $EXECFLOW_ANSWER)"'
    )
    execution_id = create(api, {"workflow": {"steps": [sh("agent", ask)]}})
    body = wait_status(api, execution_id, "awaiting_input")
    assert body["steps"][0]["prompt"] == "which branch?"
    assert (
        api.post(f"/api/v1/executions/{execution_id}/resume", json={"input": 7}).status_code == 422
    )
    answered = api.post(f"/api/v1/executions/{execution_id}/resume", json={"input": "main"})
    assert answered.status_code == 202
    assert wait_finished(api, execution_id)["status"] == "completed"
    lines = [ln["line"] for ln in logs_until(api, execution_id, bool)]
    assert lines == ['got "main"']


def test_progress_and_outputs_reported_by_a_step_are_shown(api: httpx.Client) -> None:
    report = (
        'echo \'{"type":"progress","current":2,"max":5,"message":"halfway"}\''
        ' >> "$EXECFLOW_EVENTS";'
        " echo 'not json' >> \"$EXECFLOW_EVENTS\";"
        ' echo \'{"type":"output","value":{"n":42}}\' >> "$EXECFLOW_EVENTS"'
    )
    execution_id = create(api, {"workflow": {"steps": [sh("work", report)]}})
    body = wait_finished(api, execution_id)
    assert body["status"] == "completed"
    assert body["progress"] == {"current": 2, "max": 5, "message": "halfway", "step_id": "work"}
    assert body["output"] == {"work": {"n": 42}}
    logs_until(
        api,
        execution_id,
        lambda lines: any(
            "ignored a step event" in ln["line"] and ln["stream"] == "stderr" for ln in lines
        ),
    )


def test_retry_creates_a_linked_execution_and_leaves_the_original_alone(
    api: httpx.Client,
) -> None:
    # The first time, `right` fails only once `left` is done: the original's failure
    # then leaves `left` succeeded (a sibling still running when it fails would run
    # again in the retry). The retry reuses `fetch` without running it, so its
    # workspace (a new execution's) has no `fetched`: there `right` succeeds.
    fail_once = (
        "if [ ! -e fetched ]; then echo second; else"
        " while [ ! -e left-done ]; do sleep 0.02; done; sleep 0.2; exit 1; fi"
    )
    report = 'touch fetched; echo \'{"type":"output","value":"fetched"}\' >> "$EXECFLOW_EVENTS"'
    original = create(
        api,
        {
            "workflow": {
                "steps": [
                    sh("fetch", report),
                    sh("left", "touch left-done", "fetch"),
                    sh("right", fail_once, "fetch"),
                    sh("join", "true", "left", "right"),
                ]
            },
            "input": {"x": 1},
        },
    )
    before = wait_finished(api, original)
    assert before["status"] == "failed"
    assert {s["id"]: s["status"] for s in before["steps"]}["left"] == "succeeded"
    history_before = api.get(f"/api/v1/executions/{original}/transitions").json()["items"]

    response = api.post(f"/api/v1/executions/{original}/retry", json={"from_step": "right"})
    assert response.status_code == 202, response.text
    retried = response.json()["id"]
    assert retried != original
    after = wait_finished(api, retried)
    assert after["status"] == "completed"
    assert after["retry_of"] == original
    assert after["input"] == {"x": 1}
    steps = {s["id"]: s for s in after["steps"]}
    assert steps["fetch"]["output"] == "fetched"
    assert steps["fetch"]["message"] == f"reused from execution {original}"
    ran = {a["step_id"] for a in after["attempts"]}
    assert ran == {"right", "join"}

    original_now = api.get(f"/api/v1/executions/{original}").json()
    assert original_now["retried_by"] == retried
    assert original_now["status"] == "failed"
    history_after = api.get(f"/api/v1/executions/{original}/transitions").json()["items"]
    assert history_after == history_before


def test_retrying_a_running_execution_cancels_it_first(api: httpx.Client, stack: Stack) -> None:
    original = create(
        api, {"workflow": {"steps": [sh("long", PID_THEN_SLEEP.format(name="long"))]}}
    )
    pid = pid_of(stack, original, "long")
    response = api.post(f"/api/v1/executions/{original}/retry")
    assert response.status_code == 202
    assert wait_finished(api, original)["status"] == "cancelled"
    wait_for(lambda: not alive(pid), 10, "the original's process to be gone")
    retried = response.json()["id"]
    pid_of(stack, retried, "long")
    api.post(f"/api/v1/executions/{retried}/cancel")
    assert wait_finished(api, retried)["status"] == "cancelled"


def test_an_idempotency_key_gives_the_same_execution_and_refuses_another_body(
    api: httpx.Client,
) -> None:
    key = uuid.uuid4().hex
    body: dict[str, Any] = {"workflow": {"steps": [sh("a", "true")]}, "input": {"n": 1}}
    first = create(api, body, **{"Idempotency-Key": key})
    assert create(api, body, **{"Idempotency-Key": key}) == first
    wait_finished(api, first)
    assert create(api, body, **{"Idempotency-Key": key}) == first
    other = api.post(
        "/api/v1/executions", json={**body, "input": {"n": 2}}, headers={"Idempotency-Key": key}
    )
    assert other.status_code == 409
    assert "idempotency key" in other.json()["reason"]
    matching = [
        e
        for e in api.get("/api/v1/executions", params={"limit": 500}).json()["items"]
        if e["id"] == first
    ]
    assert len(matching) == 1


def test_a_child_step_runs_a_sub_execution_and_takes_its_outcome(api: httpx.Client) -> None:
    child_workflow = {
        "steps": [
            sh("inner", 'echo \'{"type":"output","value":"from child"}\' >> "$EXECFLOW_EVENTS"')
        ]
    }
    parent = create(
        api,
        {
            "workflow": {
                "steps": [
                    {"id": "sub", "type": "child", "workflow": child_workflow},
                    sh("after", "true", "sub"),
                ]
            }
        },
    )
    body = wait_finished(api, parent)
    assert body["status"] == "completed"
    assert len(body["children"]) == 1
    child = api.get(f"/api/v1/executions/{body['children'][0]}").json()
    assert child["parent_id"] == parent
    assert child["status"] == "completed"
    assert {s["id"]: s["output"] for s in body["steps"]}["sub"] == {"inner": "from child"}


def test_cancelling_a_parent_cancels_its_children(api: httpx.Client, stack: Stack) -> None:
    child_workflow = {"steps": [sh("inner", PID_THEN_SLEEP.format(name="inner"))]}
    parent = create(
        api, {"workflow": {"steps": [{"id": "sub", "type": "child", "workflow": child_workflow}]}}
    )
    children = wait_status(api, parent, "running")["children"]
    wait_for(lambda: bool(api.get(f"/api/v1/executions/{parent}").json()["children"]))
    child_id = (
        api.get(f"/api/v1/executions/{parent}").json()["children"][0]
        if not children
        else children[0]
    )
    pid = pid_of(stack, child_id, "inner")
    assert api.post(f"/api/v1/executions/{parent}/cancel").status_code == 202
    assert wait_finished(api, child_id)["status"] == "cancelled"
    assert wait_finished(api, parent)["status"] == "cancelled"
    wait_for(lambda: not alive(pid), 10, "the child's process to be gone")


def test_a_finished_execution_leaves_the_read_models_after_its_ttl(api: httpx.Client) -> None:
    execution_id = create(
        api, {"workflow": {"steps": [sh("a", "echo hi")], "ttl": {"delete_after": "1s"}}}
    )
    wait_finished(api, execution_id)
    wait_for(
        lambda: api.get(f"/api/v1/executions/{execution_id}").status_code == 404,
        10,
        "the execution to expire",
    )
    assert api.get(f"/api/v1/executions/{execution_id}/logs").status_code == 404
