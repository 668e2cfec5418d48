"""The derived fields of `GET /api/v1/executions/{id}`: n_steps, queue_wait_ms, logs_url."""

from datetime import datetime

import httpx

from .conftest import create, sh, wait_finished, wait_status


def ms_between(start: str, end: str) -> int:
    return int((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() * 1000)


def test_a_run_execution_has_its_queue_wait_steps_and_logs(api: httpx.Client) -> None:
    execution_id = create(
        api, {"workflow": {"steps": [sh("a", "echo hello"), sh("b", "echo bye", "a")]}}
    )
    body = wait_finished(api, execution_id)

    assert body["n_steps"] == 2
    first_step = body["steps"][0]["started_at"]
    assert body["queue_wait_ms"] == ms_between(body["queued_at"], first_step)
    assert body["queue_wait_ms"] >= 0
    # The step logs stored as an artifact (the last step's), else the log lines endpoint.
    assert body["logs_url"] in (
        f"/api/v1/executions/{execution_id}/logs",
        f"/api/v1/executions/{execution_id}/artifacts/b.log",
    )
    assert api.get(body["logs_url"]).status_code == 200


def test_an_execution_that_never_ran_has_no_queue_wait_nor_logs(api: httpx.Client) -> None:
    waiting = {"workflow": {"steps": [sh("a", "true", queue="nobody-serves-this")]}}
    execution_id = create(api, waiting)
    queued = wait_status(api, execution_id, "queued")
    assert queued["queue_wait_ms"] is not None and queued["queue_wait_ms"] >= 0  # waits still
    assert queued["logs_url"] is None

    assert api.post(f"/api/v1/executions/{execution_id}/cancel").status_code == 202
    cancelled = wait_finished(api, execution_id)
    assert cancelled["status"] == "cancelled"
    assert cancelled["queue_wait_ms"] is None
    assert cancelled["logs_url"] is None
    assert cancelled["n_steps"] == 1
