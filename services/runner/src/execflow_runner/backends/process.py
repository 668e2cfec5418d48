"""The process backend: the step's command, run directly (no shell) in its workspace.

Starting a process blocks its caller until the child has exec'd, which on a busy
machine takes milliseconds, and the loop would serve nothing else meanwhile: while other
steps run or start, processes are started from a small thread pool (one thread managed
~150 starts a second under load, eight ~950). A step that comes to an idle runner is
started on the loop itself, which has nothing else to do, and is spared the two thread
hand-offs (dispatch p50 ~0.7 ms lower). Output is read and exits awaited in the loop (a
pidfd where the kernel has them).

Under a sandbox (bubblewrap, `..sandbox`), the process started is bwrap, in a process
group of its own; the step's command runs in another group, with the namespace's init
(bwrap's, which passes the command's exit code on). A stop signals that group: the
command and its children get SIGTERM (init, without a handler, ignores it, as does bwrap
outside), and SIGKILL after the grace kills init, and with it every process of the
namespace. A step's processes end with it: once its command exits, bwrap does, and the
namespace's init and whatever the command left running die with it. bwrap reports a
command killed by signal n as exit code 128 + n (as shells and Docker do); a stop's own
signal is reported as such.

Steps are started from the loop's thread or the pool's, which live as long as the
runner: bwrap's `--die-with-parent` follows the thread that started it.
"""

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from execflow_contracts import StepWork

from ..sandbox import Sandbox
from .base import AttemptKey, LineSink, Outcome, exit_outcome, step_variables, workdir_in
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
    # Sandboxed: the process group of the step's command (its namespace's init pid, as
    # bwrap tells it), None if bwrap ended without telling.
    group: "asyncio.Future[int | None] | None" = None
    # The signals a stop sent.
    sent: tuple[signal.Signals, ...] = ()


class ProcessBackend:
    def __init__(self, sandbox: Sandbox | None = None) -> None:
        self._sandbox = sandbox
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
        loop = asyncio.get_running_loop()
        try:
            cwd = workdir_in(workspace, work.run.workdir)
            environment = step_environment(work, workspace, env or {})
            if self._sandbox is not None:
                self._check_visible(work, environment, cwd, workspace)
        except ValueError as exc:
            return Outcome(None, f"cannot start {work.run.command[0]!r}: {exc}", "start")
        info: list[int] = []  # sandboxed: the read end of bwrap's info pipe

        def start() -> "subprocess.Popen[bytes]":
            if self._sandbox is None:
                return _popen(work.run.command, cwd, environment)
            read, write = os.pipe()
            try:
                command = self._sandbox.command(
                    work.run.command, workspace, cwd, work.run.network, write
                )
                return _popen(command, cwd, self._sandbox.environment(environment), write)
            except BaseException:
                os.close(read)
                raise
            finally:
                os.close(write)
                info.append(read)

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
        group = _read_group(info[0]) if info else None
        child = Child(popen, self._watch_exit(popen), group)
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
        if child.group is not None and code - 128 in child.sent:
            code = 128 - code  # bwrap's 128 + n for the command killed by our signal n
        if code < 0:
            return Outcome(code, f"killed by {signal.Signals(-code).name}", "signal")
        return exit_outcome(code)

    async def stop(self, key: AttemptKey, grace_s: float) -> bool:
        child = self._running.get(key)
        if child is None:
            return False
        await self._signal(child, signal.SIGTERM, grace_s)
        try:
            await asyncio.wait_for(asyncio.shield(child.exited), grace_s)
        except TimeoutError:
            await self._signal(child, signal.SIGKILL, grace_s)
            await child.exited
        return True

    async def _signal(self, child: Child, sig: signal.Signals, wait_s: float) -> None:
        child.sent += (sig,)
        if child.group is None:
            _signal_group(child.popen.pid, sig)
            return
        try:
            group = await asyncio.wait_for(asyncio.shield(child.group), wait_s)
        except TimeoutError:
            group = None
        if group is None:  # bwrap never said: ending bwrap ends its namespace
            _signal_group(child.popen.pid, signal.SIGKILL)
        else:
            _signal_group(group, sig)

    def _check_visible(
        self, work: StepWork, env: dict[str, str], cwd: Path, workspace: Path
    ) -> None:
        """A program the sandbox does not show fails to start with the reason, as it
        would unsandboxed (bwrap could only exit 1)."""
        assert self._sandbox is not None
        if any("\0" in part for part in [*work.run.command, *env, *env.values()]):
            raise ValueError("embedded null byte")  # as starting it would say
        program = work.run.command[0]
        if "/" in program:
            found = str(cwd / program)
            if not (os.path.isfile(found) and os.access(found, os.X_OK)):
                raise ValueError(f"no such program: {found}")
        else:
            # Looked for where the step looks: in the folders of PATH it can see.
            path = env.get("PATH", os.defpath)
            shown = [p for p in path.split(os.pathsep) if self._sandbox.shows(Path(p), workspace)]
            located = shutil.which(program, path=os.pathsep.join(shown))
            if located is None:
                raise ValueError(f"no program of that name on the PATH the sandbox shows ({path})")
            found = located
        if not self._sandbox.shows(Path(found).resolve(), workspace.resolve()):
            raise ValueError(
                f"{found} is not in the sandbox (add its folder to EXECFLOW_SANDBOX_READ_ONLY)"
            )

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


def _popen(
    command: list[str], cwd: Path, env: dict[str, str], *fds: int
) -> "subprocess.Popen[bytes]":
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: a stop reaches children
        pass_fds=fds,
    )


def _read_group(fd: int) -> "asyncio.Future[int | None]":
    """The pid bwrap writes (as JSON, then it closes the pipe): its namespace's init,
    the leader of the command's process group (`--new-session`)."""
    loop = asyncio.get_running_loop()
    found: asyncio.Future[int | None] = loop.create_future()
    received = bytearray()

    def readable() -> None:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        received.extend(chunk)
        if chunk:
            return
        loop.remove_reader(fd)
        os.close(fd)
        try:
            found.set_result(int(json.loads(received)["child-pid"]))
        except (ValueError, KeyError, TypeError):
            found.set_result(None)

    loop.add_reader(fd, readable)
    return found


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
