"""Process steps run under bubblewrap: they see and touch only what they are given, and
they die with their runner."""

import os
import secrets
from pathlib import Path
from typing import Any

import httpx

from execflow_devstack import Stack

from .conftest import alive, create, logs_until, sh, step_processes, wait_finished, wait_for

# Connects to the API (on the host's loopback): "reached" or the error.
CONNECT = (
    "import socket, sys\n"
    "try:\n"
    "    socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=2).close()\n"
    "    print('reached')\n"
    "except OSError as exc:\n"
    "    print('unreachable', exc)\n"
)


def lines_of(api: httpx.Client, execution_id: str) -> list[str]:
    body = wait_finished(api, execution_id)
    assert body["status"] == "completed", body
    lines = logs_until(api, execution_id, lambda lines: any(ln["line"] == "end" for ln in lines))
    return [ln["line"] for ln in lines]


def test_a_step_writes_only_its_workspace_and_sees_no_other(
    api: httpx.Client, stack: Stack
) -> None:
    work_dir = stack.config.work_dir.resolve()
    other = create(api, {"workflow": {"steps": [sh("keep", "echo hidden > secret")]}})
    wait_finished(api, other)
    assert (work_dir / other / "secret").exists()
    probes = [
        f"cat {work_dir / other / 'secret'} || echo other-workspace-hidden",
        f"echo seen $(ls {work_dir})",
        "touch /usr/x 2>/dev/null || echo usr-read-only",
        "touch /etc/x 2>/dev/null || echo etc-read-only",
        "echo mine > mine && cat mine",
        "echo $HOME $TMPDIR; touch /tmp/scratch && echo tmp-writable",
        "test -s /etc/shadow && echo shadow-readable || echo shadow-empty",
        "grep CapEff /proc/self/status",
        "echo pid $$",
        "echo end",
    ]
    execution_id = create(api, {"workflow": {"steps": [sh("probe", "; ".join(probes))]}})
    lines = lines_of(api, execution_id)
    assert "hidden" not in lines
    assert "other-workspace-hidden" in lines
    assert f"seen {execution_id}" in lines  # its own workspace, alone in the folder
    assert {"usr-read-only", "etc-read-only", "mine", "tmp-writable", "shadow-empty"} <= set(lines)
    assert "/tmp /tmp" in lines
    assert "CapEff:\t0000000000000000" in lines
    assert "pid 2" in lines  # its own PID namespace: bwrap's init is 1
    assert (work_dir / execution_id / "mine").read_text() == "mine\n"


def test_a_step_has_no_network_unless_it_asks(api: httpx.Client, stack: Stack) -> None:
    port = str(stack.config.api_port)
    probe = {"command": ["python3", "-c", CONNECT, port]}
    end = sh("end", "echo end", "closed", "open")
    steps: list[dict[str, Any]] = [
        {"id": "closed", "run": probe},
        {"id": "open", "run": probe | {"network": True}},
        end,
    ]
    execution_id = create(api, {"workflow": {"steps": steps}})
    body = wait_finished(api, execution_id)
    assert body["status"] == "completed", body
    logs = logs_until(api, execution_id, lambda lines: len(lines) >= 3)
    by_step = {ln["step_id"]: ln["line"] for ln in logs}
    assert by_step["closed"].startswith("unreachable"), by_step
    assert by_step["open"] == "reached"


def test_a_workdir_outside_the_workspace_fails_the_step(api: httpx.Client) -> None:
    for workdir in ("../..", "/etc"):
        step = {"id": "out", "run": {"command": ["pwd"], "workdir": workdir}}
        body = wait_finished(api, create(api, {"workflow": {"steps": [step]}}))
        assert body["status"] == "failed"
        assert body["error"]["kind"] == "start"
        assert "workspace" in body["error"]["message"], body["error"]


def processes_with(marker: str) -> list[tuple[int, str]]:
    """The live processes whose command line holds `marker`, with their command lines."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # gone meanwhile
            continue
        if marker in command and alive(int(entry.name)):
            found.append((int(entry.name), command))
    return found


def sleeps(marker: str) -> list[int]:
    return [pid for pid, command in processes_with(marker) if command.startswith("sleep ")]


def test_a_killed_runner_takes_every_process_of_its_steps_with_it(
    api: httpx.Client, stack: Stack
) -> None:
    # Issue 16's orphans: a step that backgrounds a child and waits. The marker (in the
    # sleeps' arguments, so in every command line of the step, bwrap's included) finds
    # its processes on the host.
    marker = f"{secrets.randbelow(10**9):09d}"
    script = f"sleep 300.{marker} & sleep 301.{marker}; wait"
    execution_id = create(api, {"workflow": {"steps": [sh("orphans", script)]}})
    wait_for(lambda: len(sleeps(marker)) == 2, what="the step's two sleeps")
    assert {Path(c.split()[0]).name for _, c in processes_with(marker)} >= {"bwrap", "sh"}
    runner = stack.services["runner"]
    try:
        # SIGKILL: the runner has no chance to stop anything itself.
        runner.kill()
        wait_for(
            lambda: not processes_with(marker),
            10,
            f"the step's processes to die with their runner: {processes_with(marker)}",
        )
    finally:
        runner.start()
    # Its work comes to the restarted runner once the lease lapses: stopped there.
    wait_for(lambda: len(sleeps(marker)) == 2, 20, "the step to run again")
    assert api.post(f"/api/v1/executions/{execution_id}/cancel").status_code == 202
    assert wait_finished(api, execution_id, timeout_s=30)["status"] == "cancelled"
    wait_for(lambda: not processes_with(marker), 10, "the cancelled step's processes to end")


def test_a_stopped_steps_trap_runs_and_its_exit_code_is_kept(
    api: httpx.Client, stack: Stack
) -> None:
    script = "trap 'echo trapped; exit 7' TERM; touch up; sleep 300 & wait"
    execution_id = create(api, {"workflow": {"steps": [sh("trapper", script)]}})
    wait_for((stack.config.work_dir / execution_id / "up").exists, what="the step to start")
    assert api.post(f"/api/v1/executions/{execution_id}/cancel").status_code == 202
    body = wait_finished(api, execution_id)
    assert body["status"] == "cancelled"
    assert body["attempts"][0]["exit_code"] == 7
    logs_until(api, execution_id, lambda lines: [ln["line"] for ln in lines] == ["trapped"])
    wait_for(lambda: not step_processes(execution_id), 5, "the backgrounded sleep to end")
