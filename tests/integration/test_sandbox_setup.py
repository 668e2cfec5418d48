"""The sandbox of process steps is on unless it is turned off, and a runner that cannot
have it says why and does not start (it never runs steps unsandboxed by surprise)."""

import os
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from execflow_runner.sandbox import Sandbox, SandboxUnavailable
from execflow_runner.settings import RunnerSettings
from execflow_runner.wiring import make_sandbox

from .conftest import Names

# What bwrap says where the kernel (or a container's seccomp profile) refuses it user
# namespaces: a stand-in for that machine, which this one is not.
NO_NAMESPACES = "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n"


def settings(tmp_path: Path, **values: str) -> RunnerSettings:
    return RunnerSettings(data_dir=tmp_path / "data", work_dir=tmp_path / "ws", **values)


def test_the_sandbox_is_on_by_default_and_off_when_said(tmp_path: Path) -> None:
    sandbox = make_sandbox(settings(tmp_path))
    assert isinstance(sandbox, Sandbox)
    assert "--die-with-parent" in sandbox.prefix and "--unshare-pid" in sandbox.prefix
    assert make_sandbox(settings(tmp_path, sandbox="off")) is None


def fake_bwrap(tmp_path: Path, script: str | None) -> str:
    """A PATH whose bwrap is `script` (None: no bwrap), and the system's programs."""
    folder = tmp_path / "bin"
    folder.mkdir()
    if script is not None:
        (folder / "bwrap").write_text(script)
        (folder / "bwrap").chmod(0o755)
    return f"{folder}:/nonexistent"


def test_a_missing_bwrap_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", fake_bwrap(tmp_path, None))
    with pytest.raises(SandboxUnavailable, match=r"not installed.*EXECFLOW_SANDBOX=off"):
        make_sandbox(settings(tmp_path))


def test_a_runner_where_bwrap_cannot_make_namespaces_says_so_and_does_not_start(
    tmp_path: Path, nats_url: str, provisioned: Names
) -> None:
    env = {
        "PATH": fake_bwrap(tmp_path, NO_NAMESPACES) + f":{os.environ['PATH']}",
        "EXECFLOW_NATS_URL": nats_url,
        "EXECFLOW_BUS_PREFIX": provisioned.prefix,
        "EXECFLOW_DOCKER": "off",
        "EXECFLOW_DATA_DIR": str(tmp_path / "data"),
        "EXECFLOW_WORK_DIR": str(tmp_path / "ws"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "execflow_runner"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        "execflow-runner: bubblewrap cannot run a step here (bwrap: No permissions to"
        " creating new namespace); set EXECFLOW_SANDBOX=off to run process steps without"
        " a sandbox"
    )


def test_a_sandbox_left_by_a_dead_runner_is_killed_when_a_runner_starts(tmp_path: Path) -> None:
    """bwrap killed as it starts a sandbox can leave the sandbox running (bubblewrap#633);
    here its parent exits at once instead, which leaves it the same: running, parentless."""
    runner_settings = settings(tmp_path)
    sandbox = make_sandbox(runner_settings)
    assert sandbox is not None
    workspace = runner_settings.work_dir / "an-execution"
    workspace.mkdir(parents=True)
    marker = f"{uuid.uuid4().int % 10**6}.4321"  # a sleep's argument, ours alone
    args = sandbox.command(["sleep", marker], workspace, workspace, False, 2)
    # The shell starts it and exits; `2>&1` gives --info-fd an open descriptor.
    subprocess.run(["sh", "-c", shlex.join(args) + " 2>/dev/null & exit 0"], check=True)
    wait_for(lambda: alive_with(marker), what="the sandbox's sleep to start")
    make_sandbox(runner_settings)  # a runner starting here
    wait_for(lambda: not alive_with(marker), what="the left sandbox to be gone")


def wait_for(predicate: Callable[[], object], what: str, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def alive_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "cmdline").read_text():
                found.append(int(entry.name))
        except OSError:
            continue
    return found
