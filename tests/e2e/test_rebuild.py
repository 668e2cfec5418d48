"""`execflow projections rebuild`: read models rebuilt from the event store equal the
live ones, the API keeps serving while they are swapped, and the live projector goes on
after the swap with nothing missed and nothing applied twice."""

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psycopg

from execflow_devstack import Stack
from execflow_platform import schema_conninfo

from .conftest import create, sh, wait_finished, wait_for, wait_status

EXECFLOW = str(Path(sys.executable).parent / "execflow")
TABLES = ("executions", "steps", "attempts", "transitions", "event_log", "execution_metrics")
Snapshot = dict[str, list[str]]


def snapshot(stack: Stack, tables: tuple[str, ...] = TABLES) -> Snapshot:
    """Every row of every table as sorted JSON; `projected_at` says when, not what."""
    conninfo = schema_conninfo(stack.config.database_url, stack.config.db_schema)
    with psycopg.connect(conninfo) as conn:
        return {
            table: sorted(
                json.dumps(row[0], sort_keys=True)
                for row in conn.execute(f"SELECT to_jsonb(t) - 'projected_at' FROM {table} t")
            )
            for table in tables
        }


def settled(stack: Stack) -> Snapshot:
    """The read models once both event projections have caught up (two equal reads)."""
    last: list[Snapshot] = [snapshot(stack)]

    def same_twice() -> bool:
        last.append(snapshot(stack))
        return last[-1] == last[-2]

    wait_for(same_twice, 20, "the projections to settle")
    return last[-1]


def rebuild(stack: Stack, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [EXECFLOW, "projections", "rebuild", *args, "--json"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "EXECFLOW_DATABASE_URL": stack.config.database_url,
            "EXECFLOW_DB_SCHEMA": stack.config.db_schema,
        },
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    print(f"rebuild: {report}")
    return report


def mixed_workload(api: httpx.Client) -> dict[str, str]:
    retry = {"max_attempts": 3, "backoff": {"initial": "100ms", "factor": 1, "jitter": 0}}
    flaky = "test -f flaky || { touch flaky; echo once >&2; exit 1; }; echo twice"
    ids = {
        "completed": create(
            api,
            {
                "workflow": {"steps": [sh("a", "echo a"), sh("b", "echo b", "a")]},
                "input": {"note": "a NUL \u0000 no column can hold"},  # see storable.py
            },
        ),
        "failed": create(api, {"workflow": {"steps": [sh("a", "exit 3"), sh("b", "true", "a")]}}),
        "step_retried": create(api, {"workflow": {"steps": [sh("f", flaky, retry=retry)]}}),
        "cancelled": create(api, {"workflow": {"steps": [sh("long", "sleep 60")]}}),
    }
    wait_status(api, ids["cancelled"], "running")
    assert api.post(f"/api/v1/executions/{ids['cancelled']}/cancel").status_code == 202
    for execution_id in ids.values():
        wait_finished(api, execution_id)
    retried = api.post(f"/api/v1/executions/{ids['failed']}/retry")
    assert retried.status_code == 202, retried.text
    ids["retry_of_failed"] = retried.json()["id"]
    wait_finished(api, ids["retry_of_failed"])
    return ids


def keep_reading(stack: Stack, execution_id: str, stop: threading.Event) -> list[int]:
    """Status codes of reads made until `stop`, as a dashboard would."""
    codes: list[int] = []
    config = stack.config
    with httpx.Client(base_url=config.api_url, timeout=10, headers=config.api_headers) as reader:
        while not stop.is_set():
            codes.append(reader.get(f"/api/v1/executions/{execution_id}").status_code)
            codes.append(reader.get("/api/v1/executions", params={"limit": 20}).status_code)
            codes.append(reader.get(f"/api/v1/executions/{execution_id}/history").status_code)
    return codes


def test_rebuilt_read_models_equal_the_live_ones(api: httpx.Client, stack: Stack) -> None:
    ids = mixed_workload(api)
    statuses = {
        name: api.get(f"/api/v1/executions/{i}").json()["status"] for name, i in ids.items()
    }
    assert statuses == {
        "completed": "completed",
        "failed": "failed",
        "step_retried": "completed",
        "cancelled": "cancelled",
        "retry_of_failed": "failed",
    }
    live = settled(stack)
    # Lines are projected apart from events, so they may come a moment after: a, b, and
    # the flaky step's "once" and "twice".
    wait_for(lambda: len(snapshot(stack, ("log_lines",))["log_lines"]) == 4, 10, "the lines")
    logs_before = snapshot(stack, ("log_lines",))

    # Damage the live tables: only a rebuild from the event store can put them right.
    conninfo = schema_conninfo(stack.config.database_url, stack.config.db_schema)
    with psycopg.connect(conninfo) as conn:
        conn.execute("DELETE FROM transitions WHERE execution_id = %s", (ids["failed"],))
        conn.execute("UPDATE executions SET status = 'running' WHERE id = %s", (ids["completed"],))
        conn.execute("DELETE FROM event_log WHERE execution_id = %s", (ids["cancelled"],))
        conn.execute("DELETE FROM attempts WHERE execution_id = %s", (ids["step_retried"],))
    assert api.get(f"/api/v1/executions/{ids['completed']}").json()["status"] == "running"

    stop = threading.Event()
    codes: list[int] = []
    reader = threading.Thread(
        target=lambda: codes.extend(keep_reading(stack, ids["completed"], stop))
    )
    reader.start()
    try:
        report = rebuild(stack)
    finally:
        stop.set()
        reader.join()

    assert report["read_models"] == ["executions", "event_log"]
    assert report["events"] + report["caught_up"] == len(live["event_log"])
    assert snapshot(stack) == live
    assert snapshot(stack, ("log_lines",)) == logs_before  # not in the event store: kept
    assert api.get(f"/api/v1/executions/{ids['completed']}").json()["status"] == "completed"
    assert len(codes) > 3 and set(codes) == {200}, Counter(codes)


def test_the_projector_goes_on_after_a_swap_without_gaps_or_doubles(
    api: httpx.Client, stack: Stack
) -> None:
    """Executions that run while a rebuild swaps tables end up exactly as a second,
    quiet rebuild derives them from the event store."""
    steps = [sh("a", "echo a; sleep 0.2"), sh("b", "echo b", "a"), sh("c", "echo c", "a")]
    started: list[str] = []
    stop = threading.Event()

    def submit() -> None:
        while not stop.is_set() and len(started) < 40:
            started.append(create(api, {"workflow": {"steps": steps}}))
            time.sleep(0.1)

    submitter = threading.Thread(target=submit)
    submitter.start()
    try:
        wait_for(lambda: len(started) >= 3, 20, "executions to be submitted")
        rebuild(stack)
    finally:
        stop.set()
        submitter.join()
    for execution_id in started:
        assert wait_finished(api, execution_id, 60)["status"] == "completed"
        history = api.get(f"/api/v1/executions/{execution_id}/history").json()["items"]
        assert [e["version"] for e in history] == list(range(1, len(history) + 1))

    live = settled(stack)
    report = rebuild(stack, "executions")
    assert report["tables"] == [
        "executions",
        "steps",
        "attempts",
        "transitions",
        "execution_metrics",
    ]
    assert snapshot(stack) == live


def test_an_unknown_read_model_is_one_line_and_exit_1(stack: Stack) -> None:
    done = subprocess.run(
        [EXECFLOW, "projections", "rebuild", "nope"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin",
            "EXECFLOW_DATABASE_URL": stack.config.database_url,
            "EXECFLOW_DB_SCHEMA": stack.config.db_schema,
        },
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: unknown read model 'nope'")
