"""The client returns the contracts' views of every read route, against the real stack:
each view holds every key the API sent, declared (none left over as an unknown extra),
and dumps back to the very JSON it was read from, so `--json` prints what the API said."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from execflow import Client
from execflow.cli import app
from execflow.client import dump
from execflow_devstack import Stack

from .conftest import create, logs_until, sh, wait_finished

FACTS = (
    'echo \'{"type":"progress","current":2,"max":5,"message":"halfway"}\' >> "$EXECFLOW_EVENTS";'
    'echo \'{"type":"checkpoint","name":"ready"}\' >> "$EXECFLOW_EVENTS";'
    'echo \'{"type":"artifact","name":"report","path":"report.txt"}\' >> "$EXECFLOW_EVENTS";'
    "echo hello > report.txt; echo done; sleep 0.3"
)


def undeclared(view: Any, where: str = "") -> list[str]:
    """Where a view (or any view inside it) holds a key its model does not declare."""
    if isinstance(view, list):
        return [found for i, v in enumerate(view) for found in undeclared(v, f"{where}[{i}]")]
    if not isinstance(view, BaseModel):
        return []
    found = [f"{where}.{key}" for key in view.model_extra or {}]
    for name in type(view).model_fields:
        found += undeclared(getattr(view, name), f"{where}.{name}")
    return found


@pytest.fixture(scope="module")
def client(stack: Stack) -> Any:
    api = Client(stack.config.api_url, api_key=stack.config.api_key)
    yield api
    api.close()


@pytest.fixture(scope="module")
def finished(stack: Stack) -> str:
    """An execution that reported facts, stored an artifact, logged, and failed."""
    with httpx.Client(
        base_url=stack.config.api_url, timeout=10, headers=stack.config.api_headers
    ) as api:
        steps = [sh("facts", FACTS), sh("boom", "echo oops >&2; exit 3", "facts")]
        execution_id = create(
            api, {"workflow": {"steps": steps}, "input": {"n": 1.5}, "metadata": {"t": "views"}}
        )
        wait_finished(api, execution_id)
        logs_until(api, execution_id, lambda lines: len(lines) == 2)
    return execution_id


def test_every_view_of_an_execution_reads_and_dumps_back_what_the_api_sent(
    client: Client, api: httpx.Client, finished: str
) -> None:
    base = f"/api/v1/executions/{finished}"
    views: dict[str, Any] = {
        base: client.get_execution(finished),
        f"{base}/transitions": client.transitions(finished),
        f"{base}/history": client.history(finished),
        f"{base}/logs": client.log_page(finished, {}),
        f"{base}/artifacts": client.artifacts(finished),
        "/api/v1/executions?metadata.t=views": client.list_executions([("metadata.t", "views")]),
        "/api/v1/board?metadata.t=views": client.board([("metadata.t", "views")]),
    }
    for path, view in views.items():
        sent = api.get(path).json()
        sent = sent["items"] if isinstance(view, list) else sent
        assert undeclared(view) == [], path
        assert json.dumps(dump(view)) == json.dumps(sent), path  # keys, values and order
    execution = views[base]
    assert execution.error is not None and execution.error.exit_code == 3
    assert execution.progress is not None and execution.progress.current == 2
    assert [c.name for c in execution.checkpoints] == ["ready"]
    assert [(a.name, a.status) for a in execution.artifacts if a.kind == "file"] == [
        ("report", "stored")
    ]
    card = views["/api/v1/board?metadata.t=views"].columns["failed"].items[0]
    assert (card.id, card.step_counts) == (execution.id, {"failed": 1, "succeeded": 1})


def test_the_catalogue_and_engine_views(client: Client, api: httpx.Client) -> None:
    workflow_id = f"views-{uuid.uuid4().hex[:8]}"
    definition = {
        "id": workflow_id,
        "inputs": {"type": "object"},
        "max_running": 2,
        "steps": [sh("a", "true")],
    }
    registered = client.register_workflow(json.dumps(definition).encode(), "application/json")
    assert registered.created
    queue = f"q{uuid.uuid4().hex[:8]}"
    assert api.put(f"/api/v1/queues/{queue}", json={"max_running": 1}).status_code == 200
    schedule = {"workflow_id": workflow_id, "every": "1h", "input": {}}
    assert api.post("/api/v1/schedules", json=schedule).status_code == 201
    window = {
        "from": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "to": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        "group_by": "status",
    }
    views: dict[str, Any] = {
        f"/api/v1/workflows/{workflow_id}": client.workflow(workflow_id),
        "/api/v1/workflows": client.workflows(),
        f"/api/v1/schedules?workflow_id={workflow_id}": client.schedules(workflow_id),
        "/api/v1/queues": client.queue_limits(),
        "/api/v1/metrics": client.metrics(window),
    }
    for path, view in views.items():
        sent = api.get(path, params=window if "metrics" in path else None).json()
        sent = sent["items"] if isinstance(view, list) else sent
        assert undeclared(view) == [], path
        assert json.dumps(dump(view)) == json.dumps(sent), path
    # Live state moves between two reads: their shapes are compared.
    for view, path in ((client.overview(), "/api/v1/engine/overview"),):
        assert undeclared(view) == []
        assert dump(view).keys() == api.get(path).json().keys()
    workers = client.workers()
    assert workers, "the stack's runner is registered"
    assert [set(w) for w in dump(workers)] == [
        set(w) for w in api.get("/api/v1/workers").json()["items"]
    ]


def test_json_output_is_what_the_api_sent(stack: Stack, api: httpx.Client, finished: str) -> None:
    runner = CliRunner(
        env={"EXECFLOW_API_URL": stack.config.api_url} | stack.config.env_for_clients()
    )
    shown = runner.invoke(app, ["execution", "get", finished, "--json"])
    assert shown.exit_code == 0, shown.output
    assert (
        shown.stdout
        == json.dumps(api.get(f"/api/v1/executions/{finished}").json(), indent=2) + "\n"
    )
