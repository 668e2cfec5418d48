"""`execflow workflow …` and `execflow worker list` through the real entry point."""

import json
import uuid
from pathlib import Path

import yaml

from execflow_devstack import Stack

from .test_cli import execflow


def definition(workflow_id: str, message: str) -> str:
    return yaml.safe_dump(
        {
            "id": workflow_id,
            "description": "says something",
            "steps": [{"id": "say", "run": {"command": ["echo", message]}}],
        }
    )


def test_workflow_register_list_and_get(stack: Stack, tmp_path: Path) -> None:
    workflow_id = f"greet-{uuid.uuid4().hex[:6]}"
    file = tmp_path / "greet.yaml"
    file.write_text(definition(workflow_id, "hello"))

    first = execflow(stack, "workflow", "register", str(file))
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"workflow {workflow_id} registered as version 1"
    again = execflow(stack, "workflow", "register", str(file))
    assert again.stdout.strip() == f"workflow {workflow_id} unchanged at version 1"
    file.write_text(definition(workflow_id, "bye"))
    changed = execflow(stack, "workflow", "register", str(file), "--json")
    assert json.loads(changed.stdout)["version"] == 2

    listed = execflow(stack, "workflow", "list")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if workflow_id in line)
    assert row.split()[:2] == [workflow_id, "2"]
    assert "says something" in row
    as_json = json.loads(execflow(stack, "workflow", "list", "--json").stdout)
    listed_json = [w for w in as_json if w["id"] == workflow_id]
    assert [w["version"] for w in listed_json] == [2]

    latest = yaml.safe_load(execflow(stack, "workflow", "get", workflow_id).stdout)
    assert latest["version"] == 2
    assert latest["steps"][0]["run"]["command"] == ["echo", "bye"]
    old = json.loads(
        execflow(stack, "workflow", "get", workflow_id, "--version", "1", "--json").stdout
    )
    assert old["steps"][0]["run"]["command"] == ["echo", "hello"]


def test_workflow_errors_are_one_line_and_exit_1(stack: Stack, tmp_path: Path) -> None:
    missing = execflow(stack, "workflow", "get", "no-such-workflow")
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: ") and "404" in missing.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\nsteps: [{id: a, needs: [zzz], run: {command: [echo]}}]\n")
    refused = execflow(stack, "workflow", "register", str(bad))
    assert refused.returncode == 1
    assert "422" in refused.stderr and "zzz" in refused.stderr
    unreadable = execflow(stack, "workflow", "register", str(tmp_path / "absent.yaml"))
    assert unreadable.returncode == 1
    assert unreadable.stderr.startswith("error: cannot read")


def test_worker_list_shows_the_stacks_runner(stack: Stack) -> None:
    workers = json.loads(execflow(stack, "worker", "list", "--json").stdout)
    assert len(workers) == 1
    runner = workers[0]
    table = execflow(stack, "worker", "list")
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()[:2]
    assert header.split() == [
        "ID",
        "KIND",
        "HOST",
        "QUEUES",
        "BACKENDS",
        "RUNNING",
        "STARTED",
        "HEARTBEAT",
    ]
    assert row.split()[:4] == [
        runner["id"],
        "runner",
        f"{runner['host']}:{runner['pid']}",
        "default",
    ]
    assert f"0/{runner['capacity']}" in row
