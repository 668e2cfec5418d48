"""The process backend: the step's command, run directly (no shell) in its workspace."""

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from execflow_contracts import StepWork

from .base import MAX_LINE_BYTES, AttemptKey, LineSink, Outcome, exit_outcome, step_variables

# What a step inherits from the runner's environment; nothing else leaks (credentials).
INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")


def step_environment(work: StepWork, workspace: Path, extra: dict[str, str]) -> dict[str, str]:
    inherited = {k: os.environ[k] for k in INHERITED_ENV if k in os.environ}
    return inherited | step_variables(work, str(workspace)) | extra | work.run.env


class ProcessBackend:
    def __init__(self) -> None:
        self._running: dict[AttemptKey, asyncio.subprocess.Process] = {}

    async def run(
        self,
        work: StepWork,
        workspace: Path,
        on_line: LineSink,
        on_started: Callable[[], None],
        env: dict[str, str] | None = None,
    ) -> Outcome:
        cwd = workspace / work.run.workdir if work.run.workdir else workspace
        try:
            process = await asyncio.create_subprocess_exec(
                *work.run.command,
                cwd=cwd,
                env=step_environment(work, workspace, env or {}),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=MAX_LINE_BYTES,
                start_new_session=True,  # its own process group, so a stop reaches children
            )
        except OSError as exc:
            return Outcome(None, f"cannot start {work.run.command[0]!r}: {exc}", "start")
        key = AttemptKey.of(work)
        self._running[key] = process
        try:
            on_started()
            assert process.stdout is not None and process.stderr is not None
            await asyncio.gather(
                _pump(process.stdout, "stdout", on_line), _pump(process.stderr, "stderr", on_line)
            )
            code = await process.wait()
        finally:
            self._running.pop(key, None)
        if code < 0:
            return Outcome(code, f"killed by {signal.Signals(-code).name}", "signal")
        return exit_outcome(code)

    async def stop(self, key: AttemptKey, grace_s: float) -> bool:
        process = self._running.get(key)
        if process is None:
            return False
        _signal_group(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace_s)
        except TimeoutError:
            _signal_group(process.pid, signal.SIGKILL)
            await process.wait()
        return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


async def _pump(reader: asyncio.StreamReader, stream: str, on_line: LineSink) -> None:
    while True:
        try:
            raw = await reader.readline()
        except ValueError:  # a line longer than the limit: take it in pieces
            raw = await reader.read(MAX_LINE_BYTES)
        if not raw:
            return
        on_line(stream, raw.decode(errors="replace").rstrip("\r\n"))


def watch_children_with_pidfd() -> None:
    """Python 3.11's default child watcher starts a thread for every child process; a
    pidfd watcher waits for them in the event loop. (3.12 does this by itself.)"""
    if sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        return
    watcher = asyncio.PidfdChildWatcher()
    watcher.attach_loop(asyncio.get_running_loop())
    asyncio.set_child_watcher(watcher)
