"""A sync function with hard stops runs in a child process of the worker, which can be
killed when the call does not stop within its grace.

The child is started fresh (`spawn`: nothing of the worker's threads or connections is
inherited), so the function must be importable: defined at a module's top level. It
talks to the worker over a pipe: its log lines, its facts, its questions, and at last
its result or its error. It dies with the worker (Linux: the parent-death signal).
"""

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import queue
import signal
import sys
import threading
import traceback
from collections.abc import AsyncIterator
from multiprocessing.connection import Connection
from typing import Any

from .capture import StepLogHandler, StreamProxy, current
from .context import Schema, StepIdentity, SyncContext
from .functions import Function

PR_SET_PDEATHSIG = 1
SPAWN = multiprocessing.get_context("spawn")


class ChildProcess:
    """The worker's side of one child."""

    def __init__(self, process: Any, conn: Connection) -> None:
        self._process = process
        self._conn = conn
        self._sending = threading.Lock()

    async def messages(self) -> AsyncIterator[tuple[Any, ...]]:
        loop = asyncio.get_running_loop()
        while True:
            message = await loop.run_in_executor(None, _receive, self._conn)
            if message is None:
                return
            yield message

    def send(self, message: tuple[Any, ...]) -> None:
        try:
            with self._sending:
                self._conn.send(message)
        except (OSError, ValueError):  # the child is gone
            pass

    def kill(self) -> None:
        self._process.kill()

    async def close(self) -> None:
        self._conn.close()
        await asyncio.get_running_loop().run_in_executor(None, self._process.join, 5.0)
        if self._process.is_alive():
            self._process.kill()

    def ending(self) -> str:
        code = self._process.exitcode
        if code is not None and code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"


async def start(function: Function, argument: Any, step: StepIdentity) -> ChildProcess:
    ours, theirs = SPAWN.Pipe()
    process = SPAWN.Process(
        target=main,
        args=(function.call, function.takes_context, argument, step, theirs),
        name=f"execflow-{function.name}",
        daemon=True,
    )
    # Spawning forks and execs a new interpreter: not on the event loop.
    await asyncio.get_running_loop().run_in_executor(None, process.start)
    theirs.close()
    return ChildProcess(process, ours)


def _receive(conn: Connection) -> tuple[Any, ...] | None:
    try:
        message: tuple[Any, ...] = conn.recv()
        return message
    except (EOFError, OSError):
        return None


def main(
    call: Any, takes_context: bool, argument: Any, step: StepIdentity, conn: Connection
) -> None:
    """The child: run the call, send what it says and its end to the worker."""
    _die_with_parent()
    sending = threading.Lock()

    def send(message: tuple[Any, ...]) -> None:
        with sending:
            conn.send(message)

    cancelled, answers = threading.Event(), queue.SimpleQueue[Any]()
    threading.Thread(target=_listen, args=(conn, cancelled, answers), daemon=True).start()

    def ask(prompt: str, schema: Schema) -> Any:
        send(("ask", prompt, schema))
        return answers.get()

    current.set(lambda stream, text: send(("line", stream, text)))
    handler = StepLogHandler(logging.INFO)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    stdout, stderr = StreamProxy("stdout", sys.stdout), StreamProxy("stderr", sys.stderr)
    sys.stdout, sys.stderr = stdout, stderr
    context = SyncContext(step, lambda raw: send(("fact", raw)), cancelled, ask)
    try:
        result = call(argument, context) if takes_context else call(argument)
        message: tuple[Any, ...] = ("result", result)
    except BaseException as exc:
        for line in "".join(traceback.format_exception(exc)).splitlines():
            send(("line", "stderr", line))
        message = ("error", f"{type(exc).__name__}: {exc}")
    sink = current.get()
    if sink is not None:
        stdout.end(sink)
        stderr.end(sink)
    send(message)


def _listen(
    conn: Connection, cancelled: threading.Event, answers: "queue.SimpleQueue[Any]"
) -> None:
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "cancel":
            cancelled.set()
        elif message[0] == "answer":
            answers.put(message[1])


def _die_with_parent() -> None:
    """A child outlives no worker, even one killed with SIGKILL (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
