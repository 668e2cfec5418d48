"""`execflow history export` and `GET /api/v1/history`: many executions' events as JSON
lines, chosen by the listing's filters."""

import json
import uuid
from itertools import groupby
from pathlib import Path
from typing import Any

import httpx

from execflow_devstack import Stack

from .conftest import create, sh, wait_finished, wait_for
from .test_cli import execflow


def settled_history(api: httpx.Client, execution_id: str) -> list[dict[str, Any]]:
    """The history, as exported, once the event log holds the terminal event."""
    final = {"completed": "ExecutionCompleted", "failed": "ExecutionFailed"}
    status = wait_finished(api, execution_id)["status"]
    items: list[dict[str, Any]] = []

    def complete() -> bool:
        nonlocal items
        items = api.get(f"/api/v1/executions/{execution_id}/history").json()["items"]
        return bool(items) and items[-1]["type"] == final[status]

    wait_for(complete, 10, f"the history of {execution_id}")
    return [{"execution_id": execution_id, **item} for item in items]


def test_export_by_filter_as_json_lines(stack: Stack, api: httpx.Client, tmp_path: Path) -> None:
    batch = uuid.uuid4().hex[:8]
    tagged = {"metadata": {"batch": batch}}
    ids = [
        create(api, {"workflow": {"steps": [sh("a", "echo one")]}, **tagged}),
        create(api, {"workflow": {"steps": [sh("a", "exit 2")]}, **tagged}),
        create(api, {"workflow": {"steps": [sh("a", "echo two"), sh("b", "true", "a")]}, **tagged}),
    ]
    other = create(api, {"workflow": {"steps": [sh("a", "true")]}})
    histories = {i: settled_history(api, i) for i in [*ids, other]}
    assert histories[ids[1]][-1]["type"] == "ExecutionFailed"

    done = execflow(stack, "history", "export", "--metadata", f"batch={batch}")
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    by_execution = [k for k, _ in groupby(events, key=lambda e: e["execution_id"])]
    assert by_execution == ids  # oldest first, each execution's events together
    assert events == [e for i in ids for e in json.loads(json.dumps(histories[i]))]

    failed = execflow(
        stack, "history", "export", "--metadata", f"batch={batch}", "--status", "failed"
    )
    assert {json.loads(line)["execution_id"] for line in failed.stdout.splitlines()} == {ids[1]}

    out = tmp_path / "audit.jsonl"
    written = execflow(stack, "history", "export", "--metadata", f"batch={batch}", "-o", str(out))
    assert written.returncode == 0, written.stderr
    assert written.stderr.strip() == f"{len(events)} events written to {out}"
    assert [json.loads(line) for line in out.read_text().splitlines()] == events


def test_export_refuses_a_bad_filter_with_its_reason(stack: Stack, api: httpx.Client) -> None:
    response = api.get("/api/v1/history", params={"status": "sleepy"})
    assert response.status_code == 422
    done = execflow(stack, "history", "export", "--status", "sleepy")
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and "422" in done.stderr
    nothing = execflow(stack, "history", "export", "--metadata", "batch=none-such")
    assert (nothing.returncode, nothing.stdout) == (0, "")
