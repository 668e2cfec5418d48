"""The `execflow` CLI against the real stack: through its entry point (a subprocess)
and through typer's CliRunner, never a fake API."""

import json
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from execflow.cli import app
from execflow_devstack import Stack, free_port

from .conftest import wait_finished, wait_status, wait_until
from .test_executions import create, step

EXECFLOW = str(Path(sys.executable).parent / "execflow")

WORKFLOW_YAML = """\
steps:
  - id: greet
    run: {command: [sh, -c, 'echo "hello $WHO"; sleep 1'], env: {WHO: world}}
  - id: after
    needs: [greet]
    run: {command: [sh, -c, "echo after"]}
"""


def cli(stack: Stack, *args: str) -> Result:
    env = {"EXECFLOW_API_URL": stack.config.api_url, "COLUMNS": "200"}
    runner = CliRunner(env=env | stack.config.env_for_clients())
    return runner.invoke(app, list(args))


def execflow(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXECFLOW, "--api", stack.config.api_url, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", **stack.config.env_for_clients()},
    )


def test_run_wait_shows_progress_and_exits_0_when_completed(stack: Stack, tmp_path: Path) -> None:
    workflow = tmp_path / "hello.yaml"
    workflow.write_text(WORKFLOW_YAML)
    done = execflow(stack, "run", str(workflow), "--input", "n=3", "--wait")
    assert done.returncode == 0, done.stderr
    assert "accepted" in done.stdout
    progress = done.stdout.splitlines()
    assert progress[1].startswith("execution: ")  # the state when watching began
    assert "step after: succeeded" in progress
    assert "execution: completed  all steps succeeded" in progress


def test_run_wait_exits_non_zero_when_the_execution_fails(stack: Stack, tmp_path: Path) -> None:
    workflow = tmp_path / "fail.json"
    workflow.write_text(json.dumps({"workflow": {"steps": [step("boom", "exit 4")]}}))
    done = execflow(stack, "run", str(workflow), "--wait")
    assert done.returncode == 1
    assert "execution: failed" in done.stdout
    assert "exited with code 4" in done.stdout


def test_list_get_and_logs(stack: Stack, api: httpx.Client) -> None:
    execution_id = create(
        api,
        {
            "workflow": {"steps": [step("one", "echo first; echo oops >&2"), step("two", "true")]},
            "metadata": {"team": "cli"},
        },
    )
    wait_finished(api, execution_id)

    listed = cli(stack, "execution", "list", "--status", "completed", "--json", "--limit", "500")
    assert listed.exit_code == 0, listed.output
    assert execution_id in {e["id"] for e in json.loads(listed.stdout)["items"]}
    table = cli(stack, "execution", "list", "--metadata", "team=cli")
    assert execution_id in table.stdout
    assert "completed" in table.stdout

    shown = cli(stack, "execution", "get", execution_id)
    assert shown.exit_code == 0
    assert execution_id in shown.stdout
    assert "one" in shown.stdout
    assert "two" in shown.stdout
    as_json = json.loads(cli(stack, "execution", "get", execution_id, "--json").stdout)
    assert as_json["status"] == "completed"

    logs = cli(stack, "execution", "logs", execution_id, "--step", "one")
    assert logs.stdout.splitlines() == ["[one] first", "[one] oops"]
    followed = execflow(stack, "execution", "logs", execution_id, "--follow", "--json")
    assert followed.returncode == 0
    assert [json.loads(line)["line"] for line in followed.stdout.splitlines()] == [
        "first",
        "oops",
    ]


def test_watch_follows_until_the_end(stack: Stack, api: httpx.Client) -> None:
    execution_id = create(api, {"workflow": {"steps": [step("slow", "sleep 0.5")]}})
    watched = execflow(stack, "execution", "watch", execution_id)
    assert watched.returncode == 0, watched.stderr
    assert watched.stdout.strip().splitlines()[0].startswith("execution: ")
    assert "execution: completed" in watched.stdout


def test_lifecycle_commands_print_the_apis_refusal(stack: Stack, api: httpx.Client) -> None:
    execution_id = create(api, {"workflow": {"steps": [step("a", "true")]}})
    wait_finished(api, execution_id)
    # A finished execution cannot be cancelled (and before the lifecycle endpoints
    # exist, the API answers 404): either way, one line with the API's reason.
    cancelled = cli(stack, "execution", "cancel", execution_id)
    assert cancelled.exit_code == 1
    assert cancelled.stderr.startswith("error: the API answered 4")
    assert len(cancelled.stderr.strip().splitlines()) == 1


def test_unknown_execution_and_worker_list(stack: Stack) -> None:
    missing = cli(stack, "execution", "get", "00000000-0000-0000-0000-000000000000")
    assert missing.exit_code == 1
    assert "404" in missing.stderr
    assert "not found" in missing.stderr
    workers = cli(stack, "worker", "list")
    assert workers.exit_code == 0
    assert workers.stdout.strip()


@pytest.mark.parametrize("args", [["execution", "list"], ["execution", "watch", "x"]])
def test_an_unreachable_api_is_one_line_and_exit_1(args: list[str]) -> None:
    down = subprocess.run(
        [EXECFLOW, "--api", f"http://127.0.0.1:{free_port()}", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert down.returncode == 1
    assert down.stderr.startswith("error: cannot reach the execflow API at http://127.0.0.1:")
    assert len(down.stderr.strip().splitlines()) == 1
    assert "Traceback" not in down.stderr


def test_metrics_table_and_json(stack: Stack, api: httpx.Client) -> None:
    wait_finished(api, create(api, {"workflow": {"steps": [step("a", "true")]}}))
    table = cli(stack, "metrics", "--bucket", "day", "--group-by", "status")
    assert table.exit_code == 0, table.output
    assert "completed" in table.stdout
    as_json = json.loads(cli(stack, "metrics", "--json").stdout)
    assert sum(m["completed"] for m in as_json["items"]) >= 1
    bad = cli(stack, "metrics", "--bucket", "week")
    assert bad.exit_code == 1
    assert "bucket" in bad.stderr


def test_refusals_and_unreadable_files_are_one_line_with_the_reason(
    stack: Stack, tmp_path: Path
) -> None:
    unknown = "00000000-0000-0000-0000-000000000000"
    cancelled = cli(stack, "execution", "cancel", unknown)
    assert cancelled.exit_code == 1
    assert cancelled.stderr.strip() == f"error: the API answered 404: execution {unknown} not found"
    deep = tmp_path / "deep.yaml"
    deep.write_text("steps: " + "[" * 3000 + "]" * 3000 + "\n")
    unreadable = execflow(stack, "run", str(deep))
    assert unreadable.returncode == 1
    assert unreadable.stderr.strip() == f"error: {deep} nests too deeply to be read"


def test_resume_takes_the_answer_and_the_step(stack: Stack, api: httpx.Client) -> None:
    ask = {"type": "input", "prompt": "ship?"}
    steps = [
        {"id": "approve", **ask, "schema": {"type": "object"}},
        {"id": "other", **ask, "schema": {"type": "array"}},
    ]
    execution_id = create(api, {"workflow": {"steps": steps}})
    wait_status(api, execution_id, "awaiting_input")
    # The global options after the subcommand, as kubectl's are.
    resumed = execflow(
        stack,
        "execution",
        "resume",
        execution_id,
        "-i",
        "ok=true",
        "-i",
        "n=2",
        "--step",
        "approve",
        "--api",
        stack.config.api_url,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == f"resume: accepted for {execution_id}"
    as_json = cli(stack, "--json", "execution", "resume", execution_id, "--input", '["a", 1]')
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["applied"] is True
    done = wait_finished(api, execution_id)
    outputs = {s["id"]: s["output"] for s in done["steps"]}
    assert outputs == {"approve": {"ok": True, "n": 2}, "other": ["a", 1]}
    bad = cli(stack, "execution", "resume", execution_id, "--input", "maybe")
    assert bad.exit_code == 1
    assert bad.stderr.strip() == "error: --input takes JSON or key=value, not 'maybe'"


def test_cancel_with_a_reason_and_retry_from_a_step(stack: Stack, api: httpx.Client) -> None:
    execution_id = create(
        api, {"workflow": {"steps": [step("first", "echo 1"), step("slow", "sleep 30", "first")]}}
    )
    wait_until(api, execution_id, lambda e: e["steps"][1]["status"] == "running")
    cancelled = cli(stack, "execution", "cancel", execution_id, "--reason", "wrong branch")
    assert cancelled.exit_code == 0, cancelled.output
    assert wait_finished(api, execution_id)["status"] == "cancelled"
    reasons = [
        t["reason"]
        for t in api.get(f"/api/v1/executions/{execution_id}/transitions").json()["items"]
        if t["type"] == "cancel" and t["to"] == "cancelling"
    ]
    assert reasons == ["wrong branch"]

    retried = cli(stack, "execution", "retry", execution_id, "--from-step", "slow", "--json")
    assert retried.exit_code == 0, retried.output
    new_id = json.loads(retried.stdout)["id"]
    again = wait_until(api, new_id, lambda e: e["steps"][1]["status"] == "running")
    assert again["retry_of"] == execution_id
    first = again["steps"][0]
    assert (first["status"], first["attempts"]) == ("succeeded", 0)  # reused, not run again
    cli(stack, "execution", "cancel", new_id)


def test_schedule_create_list_pause_resume_delete(stack: Stack, api: httpx.Client) -> None:
    workflow_id = f"wf-{uuid.uuid4().hex[:8]}"
    assert api.post("/api/v1/workflows", json={"id": workflow_id, "steps": [step("a", "true")]})
    made = cli(
        stack,
        "schedule",
        "create",
        workflow_id,
        "--cron",
        "0 2 * * *",
        "--timezone",
        "Europe/Paris",
        "-i",
        "n=1",
        "--json",
    )
    assert made.exit_code == 0, made.output
    schedule = json.loads(made.stdout)
    assert (schedule["cron"], schedule["timezone"], schedule["input"]) == (
        "0 2 * * *",
        "Europe/Paris",
        {"n": 1},
    )
    listed = cli(stack, "schedule", "list", "--workflow", workflow_id)
    header, row = listed.stdout.splitlines()[:2]
    assert header.split()[:3] == ["ID", "WORKFLOW", "RHYTHM"]
    assert row.split()[:2] == [schedule["id"], workflow_id]
    assert "cron 0 2 * * * Europe/Paris" in row and "active" in row
    paused = execflow(stack, "schedule", "pause", schedule["id"])
    assert paused.stdout.strip() == f"schedule {schedule['id']} paused"
    resumed = execflow(stack, "schedule", "resume", schedule["id"])
    assert resumed.stdout.strip() == f"schedule {schedule['id']} active"
    deleted = execflow(stack, "schedule", "delete", schedule["id"])
    assert deleted.stdout.strip() == f"schedule {schedule['id']} deleted"
    assert (
        json.loads(cli(stack, "schedule", "list", "--workflow", workflow_id, "--json").stdout) == []
    )
    refused = cli(stack, "schedule", "create", workflow_id)
    assert refused.exit_code == 1
    assert "give either `cron` or `every`" in refused.stderr
