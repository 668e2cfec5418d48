"""The process backend: the step's command, run directly (no shell) in its workspace.

Starting a process blocks its caller until the child has exec'd, which on a busy
machine takes milliseconds, and the loop would serve nothing else meanwhile: while other
steps run or start, processes are started from a small thread pool (one thread managed
~150 starts a second under load, eight ~950). A step that comes to an idle runner is
started on the loop itself, which has nothing else to do, and is spared the two thread
hand-offs (dispatch p50 ~0.7 ms lower). Output is read and exits awaited in the loop (a
pidfd where the kernel has them).
"""

import asyncio
import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from execflow_contracts import StepWork

from .base import AttemptKey, LineSink, Outcome, exit_outcome, step_variables
from .lines import LineSplitter

# What a step inherits from the runner's environment; nothing else leaks (credentials).
INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
STARTING_THREADS = 8


def step_environment(work: StepWork, workspace: Path, extra: dict[str, str]) -> dict[str, str]:
    inherited = {k: os.environ[k] for k in INHERITED_ENV if k in os.environ}
    return inherited | step_variables(work, str(workspace)) | extra | work.run.literal_env


@dataclass
class Child:
    popen: "subprocess.Popen[bytes]"
    exited: "asyncio.Future[int]"  # the exit code, negative for a signal


class ProcessBackend:
    def __init__(self) -> None:
        self._running: dict[AttemptKey, Child] = {}
        self._starting = 0  # processes being started from the pool
        self._starter = ThreadPoolExecutor(STARTING_THREADS, thread_name_prefix="step-start")

    async def run(
        self,
        work: StepWork,
        workspace: Path,
        on_line: LineSink,
        on_started: Callable[[], None],
        env: dict[str, str] | None = None,
    ) -> Outcome:
        cwd = workspace / work.run.workdir if work.run.workdir else workspace
        loop = asyncio.get_running_loop()

        def start() -> "subprocess.Popen[bytes]":
            return subprocess.Popen(
                work.run.command,
                cwd=cwd,
                env=step_environment(work, workspace, env or {}),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group: a stop reaches children
            )

        try:
            if not self._running and not self._starting:
                popen = start()
            else:
                self._starting += 1
                try:
                    popen = await loop.run_in_executor(self._starter, start)
                finally:
                    self._starting -= 1
        except (OSError, ValueError) as exc:  # ValueError: a NUL in an argument or variable
            return Outcome(None, f"cannot start {work.run.command[0]!r}: {exc}", "start")
        key = AttemptKey.of(work)
        child = Child(popen, self._watch_exit(popen))
        self._running[key] = child
        try:
            on_started()
            ended = [
                await _read_lines(popen.stdout, "stdout", on_line),
                await _read_lines(popen.stderr, "stderr", on_line),
            ]
            for pipe_ended in ended:
                await pipe_ended
            code = await child.exited
        finally:
            self._running.pop(key, None)
        if code < 0:
            return Outcome(code, f"killed by {signal.Signals(-code).name}", "signal")
        return exit_outcome(code)

    async def stop(self, key: AttemptKey, grace_s: float) -> bool:
        child = self._running.get(key)
        if child is None:
            return False
        _signal_group(child.popen.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(child.exited), grace_s)
        except TimeoutError:
            _signal_group(child.popen.pid, signal.SIGKILL)
            await child.exited
        return True

    def _watch_exit(self, popen: "subprocess.Popen[bytes]") -> "asyncio.Future[int]":
        loop = asyncio.get_running_loop()
        exited: asyncio.Future[int] = loop.create_future()
        if not hasattr(os, "pidfd_open"):
            # No pidfd: a thread of its own waits for each child (a shared pool would let
            # long steps hold every thread while short ones' exits go unseen).
            def wait() -> None:
                code = popen.wait()
                loop.call_soon_threadsafe(exited.set_result, code)

            threading.Thread(target=wait, daemon=True).start()
            return exited
        # A child that has already exited is a zombie until reaped: its pidfd is readable.
        pidfd = os.pidfd_open(popen.pid)

        def reap() -> None:
            loop.remove_reader(pidfd)
            os.close(pidfd)
            exited.set_result(popen.wait())  # it has exited: this does not block

        loop.add_reader(pidfd, reap)
        return exited


async def _read_lines(pipe: object, stream: str, on_line: LineSink) -> "asyncio.Future[None]":
    """Hand the pipe's lines to `on_line` as they come; the future resolves at its end."""
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[None] = loop.create_future()
    await loop.connect_read_pipe(lambda: _PipeLines(stream, on_line, ended), pipe)
    return ended


class _PipeLines(asyncio.Protocol):
    # Lines are handed on from the transport's callback: no reader and no task per pipe.
    def __init__(self, stream: str, on_line: LineSink, ended: "asyncio.Future[None]") -> None:
        self._stream = stream
        self._on_line = on_line
        self._ended = ended
        self._lines = LineSplitter()

    def data_received(self, data: bytes) -> None:
        for line in self._lines.feed(data):
            self._on_line(self._stream, line)

    def connection_lost(self, exc: Exception | None) -> None:
        for line in self._lines.rest():
            self._on_line(self._stream, line)
        if not self._ended.done():
            self._ended.set_result(None)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
