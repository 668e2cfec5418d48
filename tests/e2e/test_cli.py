"""The `execflow` CLI against the real stack: through its entry point (a subprocess)
and through typer's CliRunner, never a fake API."""

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from execflow.cli import app
from execflow_devstack import Stack, free_port

from .conftest import wait_finished
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
    runner = CliRunner(env={"EXECFLOW_API_URL": stack.config.api_url, "COLUMNS": "200"})
    return runner.invoke(app, list(args))


def execflow(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXECFLOW, "--api", stack.config.api_url, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
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
