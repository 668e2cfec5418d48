"""No work lost when execflow's own processes die: each service is killed with SIGKILL
mid-run, on a stack of its own."""

import dataclasses
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from execflow_devstack import ServiceProcess, Stack
from execflow_scheduler.settings import SchedulerSettings
from execflow_scheduler.wiring import build_application

from ..conftest import terminate_session, writer_lock_holders
from .conftest import (
    create,
    logs_until,
    running_stack,
    sh,
    wait_finished,
    wait_for,
    wait_status,
    wait_until,
)


@pytest.fixture(scope="module")
def crash_stack(
    nats_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("crash")
    with running_stack(nats_url, database_url, home, {"EXECFLOW_WORKER_ID": "runner-a"}) as stack:
        yield stack


@pytest.fixture
def api(crash_stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=crash_stack.config.api_url, timeout=10, headers=crash_stack.config.api_headers
    ) as client:
        yield client


def stored_event_names(stack: Stack, execution_id: str) -> list[str]:
    app = build_application(
        SchedulerSettings(database_url=stack.config.database_url, db_schema=stack.config.db_schema)
    )
    try:
        return [type(e).__name__ for e in app.events.get(uuid.UUID(execution_id))]
    finally:
        app.close()


def restart(stack: Stack, name: str) -> None:
    service = stack.services[name]
    service.kill()
    time.sleep(0.5)
    service.start()


def test_a_killed_runners_step_runs_again_elsewhere_and_completes(
    api: httpx.Client, crash_stack: Stack
) -> None:
    execution_id = create(
        api, {"workflow": {"steps": [sh("work", "echo $$ > work.pid; sleep 1; echo finished")]}}
    )
    pid_file = crash_stack.config.work_dir / execution_id / "work.pid"
    wait_for(pid_file.exists, what="the step to start")
    # Killed once the scheduler knows runner-a runs it (a loaded machine can hold the
    # start report back; killed before, the store would rightly know of no first run).
    wait_until(api, execution_id, lambda b: b["steps"][0]["status"] == "running")
    crash_stack.services["runner"].kill()
    killed_at = time.monotonic()
    other = ServiceProcess("runner", crash_stack.config, {"EXECFLOW_WORKER_ID": "runner-b"})
    other.start()
    try:
        body = wait_finished(api, execution_id, timeout_s=30)
        print(f"runner crash: recovered in {time.monotonic() - killed_at:.1f}s (lease 3s)")
    finally:
        other.stop()
        crash_stack.services["runner"].start()
    assert body["status"] == "completed"
    attempts = [(a["attempt"], a["delivery"], a["status"], a["worker"]) for a in body["attempts"]]
    assert attempts == [(1, 1, "lost", "runner-a"), (1, 2, "succeeded", "runner-b")]
    # The second runner's lines are kept beside the first's (numbering starts again).
    logs_until(api, execution_id, lambda lines: [ln["line"] for ln in lines] == ["finished"])
    names = stored_event_names(crash_stack, execution_id)
    assert names.count("StepDeliveryLost") == 1
    assert names.count("StepSucceeded") == 1


def test_a_killed_scheduler_loses_no_command_and_stores_no_event_twice(
    api: httpx.Client, crash_stack: Stack
) -> None:
    body = {"workflow": {"steps": [sh("a", "sleep 0.2"), sh("b", "sleep 0.2", "a")]}}
    first = [create(api, body) for _ in range(10)]
    time.sleep(0.3)
    restart(crash_stack, "scheduler")
    second = [create(api, body) for _ in range(10)]  # accepted while it restarts
    for execution_id in first + second:
        assert wait_finished(api, execution_id, timeout_s=60)["status"] == "completed"
    for execution_id in first + second:
        names = stored_event_names(crash_stack, execution_id)
        assert names.count("ExecutionCreated") == 1
        assert names.count("StepSucceeded") == 2
        assert names.count("ExecutionCompleted") == 1


def test_a_second_scheduler_stands_by_and_takes_over_when_the_first_dies(
    api: httpx.Client, crash_stack: Stack, tmp_path: Path
) -> None:
    standby = ServiceProcess("scheduler", dataclasses.replace(crash_stack.config, log_dir=tmp_path))
    log = tmp_path / "scheduler.log"

    def standby_says(words: str) -> bool:
        return log.exists() and words in log.read_text()

    body = {"workflow": {"steps": [sh("a", "true"), sh("b", "true", "a")]}}
    standby.start()
    try:
        wait_for(lambda: standby_says("standing by"), what="the second scheduler to stand by")
        before = create(api, body)
        assert wait_finished(api, before)["status"] == "completed"
        assert not standby_says("takes over")

        crash_stack.services["scheduler"].kill()
        wait_for(lambda: standby_says("takes over"), what="the second scheduler to take over")
        after = create(api, body)
        assert wait_finished(api, after, timeout_s=30)["status"] == "completed"
    finally:
        standby.stop()
        crash_stack.services["scheduler"].start()
    for execution_id in (before, after):
        names = stored_event_names(crash_stack, execution_id)
        assert names.count("StepSucceeded") == 2
        assert names.count("ExecutionCompleted") == 1


def test_a_scheduler_that_loses_its_writer_lock_stops_and_a_restart_serves_again(
    api: httpx.Client, crash_stack: Stack
) -> None:
    scheduler = crash_stack.services["scheduler"]
    config = crash_stack.config
    wait_for(
        lambda: bool(writer_lock_holders(config.database_url, config.db_schema)),
        what="the scheduler to hold its lock",
    )
    # As a PostgreSQL restart or an operator would: the lock's session ends.
    (pid,) = writer_lock_holders(config.database_url, config.db_schema)
    terminate_session(config.database_url, pid)
    wait_for(lambda: not scheduler.alive, what="the scheduler to stop")
    assert scheduler.exit_code not in (0, None)

    scheduler.start()
    body = {"workflow": {"steps": [sh("a", "true")]}}
    assert wait_finished(api, create(api, body), timeout_s=30)["status"] == "completed"


def test_a_backoff_timer_survives_a_scheduler_restart_and_fires_once(
    api: httpx.Client, crash_stack: Stack
) -> None:
    # Attempts of a step share its execution's workspace.
    fail_once = "if [ -e failed-once ]; then true; else touch failed-once; exit 1; fi"
    retry = {"max_attempts": 3, "backoff": {"initial": "3s", "jitter": 0}}
    execution_id = create(api, {"workflow": {"steps": [sh("a", fail_once, retry=retry)]}})
    wait_status(api, execution_id, "backoff")
    crash_stack.services["scheduler"].kill()
    time.sleep(1.0)
    crash_stack.services["scheduler"].start()
    body = wait_finished(api, execution_id, timeout_s=30)
    assert body["status"] == "completed"
    attempts = body["attempts"]
    assert [a["attempt"] for a in attempts] == [1, 2]
    waited = datetime.fromisoformat(attempts[1]["started_at"]) - datetime.fromisoformat(
        attempts[0]["finished_at"]
    )
    assert waited.total_seconds() >= 3.0
    assert stored_event_names(crash_stack, execution_id).count("StepRetryScheduled") == 1


def test_a_killed_projector_catches_up_to_what_the_event_store_says(
    api: httpx.Client, crash_stack: Stack
) -> None:
    ok = {"workflow": {"steps": [sh("a", "echo hi"), sh("b", "true", "a")]}}
    bad = {"workflow": {"steps": [sh("a", "exit 2")]}}
    crash_stack.services["projector"].kill()
    ids = [create(api, ok) for _ in range(5)] + [create(api, bad) for _ in range(5)]
    time.sleep(2.0)  # they finish while nothing projects
    crash_stack.services["projector"].start()
    for execution_id in ids:
        wait_finished(api, execution_id, timeout_s=30)
    # What each execution must show follows from its workflow, not from the store the
    # projector reads: the five good ones completed, the five bad ones failed.
    expected = {i: "completed" for i in ids[:5]} | {i: "failed" for i in ids[5:]}
    for execution_id in ids:
        body = api.get(f"/api/v1/executions/{execution_id}").json()
        assert body["status"] == expected[execution_id]
        transitions = api.get(f"/api/v1/executions/{execution_id}/transitions").json()["items"]
        moves = [(t["type"], t["to"]) for t in transitions]
        ending = (
            ("finish", "completed")
            if expected[execution_id] == "completed"
            else (
                "error",
                "failed",
            )
        )
        assert moves[0] == ("init", "pending") and moves[-1] == ending
        assert [t["version"] for t in transitions] == sorted({t["version"] for t in transitions})
        assert [s["status"] for s in body["steps"]] == (
            ["succeeded", "succeeded"] if expected[execution_id] == "completed" else ["failed"]
        )
        if expected[execution_id] == "completed":
            logs = logs_until(api, execution_id, bool)
            assert [ln["line"] for ln in logs] == ["hi"]
