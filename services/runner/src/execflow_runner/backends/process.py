"""The process backend: the step's command, run directly (no shell) in its workspace."""

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

from execflow_contracts import StepWork

from .base import MAX_LINE_BYTES, LineSink, Outcome, exit_outcome, step_variables

# What a step inherits from the runner's environment; nothing else leaks (credentials).
INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")


def step_environment(work: StepWork, workspace: Path) -> dict[str, str]:
    inherited = {k: os.environ[k] for k in INHERITED_ENV if k in os.environ}
    return inherited | step_variables(work, str(workspace)) | work.run.env


class ProcessBackend:
    async def run(
        self, work: StepWork, workspace: Path, on_line: LineSink, on_started: Callable[[], None]
    ) -> Outcome:
        cwd = workspace / work.run.workdir if work.run.workdir else workspace
        try:
            process = await asyncio.create_subprocess_exec(
                *work.run.command,
                cwd=cwd,
                env=step_environment(work, workspace),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=MAX_LINE_BYTES,
                start_new_session=True,  # its own process group, so a stop reaches children
            )
        except OSError as exc:
            return Outcome(exit_code=None, error=f"cannot start {work.run.command[0]!r}: {exc}")
        on_started()
        assert process.stdout is not None and process.stderr is not None
        await asyncio.gather(
            _pump(process.stdout, "stdout", on_line), _pump(process.stderr, "stderr", on_line)
        )
        code = await process.wait()
        if code < 0:
            return Outcome(exit_code=code, error=f"killed by {signal.Signals(-code).name}")
        return exit_outcome(code)


async def _pump(reader: asyncio.StreamReader, stream: str, on_line: LineSink) -> None:
    while True:
        try:
            raw = await reader.readline()
        except ValueError:  # a line longer than the limit: take it in pieces
            raw = await reader.read(MAX_LINE_BYTES)
        if not raw:
            return
        on_line(stream, raw.decode(errors="replace").rstrip("\r\n"))
