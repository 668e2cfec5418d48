"""Calling a function for a step, and stopping the call: a coroutine is cancelled; a sync
function in a thread is told (`ctx.cancelled`) and, if it goes on past the grace, left
behind; a sync function with hard stops runs in a child process, killed after the grace.
"""

import asyncio
import contextvars
import logging
import threading
import traceback
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from typing import Any

from . import child
from .capture import LineSink
from .context import Context, FactSink, Schema, StepIdentity, SyncContext
from .functions import Function, FunctionError

log = logging.getLogger(__name__)

AsyncAsker = Callable[[str, Schema], Coroutine[Any, Any, Any]]


class Stopped(Exception):
    """The call was stopped before it returned (a cancel, a timeout)."""


class Call:
    """One call of a function for one attempt of a step."""

    def __init__(
        self,
        function: Function,
        argument: Any,
        step: StepIdentity,
        facts: FactSink,
        asker: AsyncAsker,
        lines: LineSink,
    ) -> None:
        self.function = function
        self.argument = argument
        self.step = step
        self.facts = facts
        self.asker = asker
        self.lines = lines
        self.cancelled = threading.Event()

    async def run(self) -> Any:
        """What the function returned; raises what it raised."""
        raise NotImplementedError

    def request_stop(self) -> None:
        self.cancelled.set()

    def force_stop(self) -> None:
        """The grace is over."""

    def _arguments(self, context: object) -> tuple[Any, ...]:
        return (self.argument, context) if self.function.takes_context else (self.argument,)


class CoroutineCall(Call):
    _task: "asyncio.Task[Any] | None" = None

    async def run(self) -> Any:
        self._task = asyncio.current_task()
        context = Context(self.step, self.facts, self.cancelled, self.asker)
        return await self.function.call(*self._arguments(context))

    def request_stop(self) -> None:
        super().request_stop()
        if self._task is not None:
            self._task.cancel()


class ThreadCall(Call):
    def __init__(self, executor: Executor, *args: Any) -> None:
        super().__init__(*args)
        self._executor = executor

    async def run(self) -> Any:
        loop = asyncio.get_running_loop()

        def facts(raw: dict[str, Any]) -> None:
            loop.call_soon_threadsafe(self.facts, raw)

        def ask(prompt: str, schema: Schema) -> Any:
            return asyncio.run_coroutine_threadsafe(self.asker(prompt, schema), loop).result()

        context = SyncContext(self.step, facts, self.cancelled, ask)
        # The thread carries the call's context variables: its lines are the step's.
        run = contextvars.copy_context().run
        return await loop.run_in_executor(
            self._executor, run, self.function.call, *self._arguments(context)
        )

    def force_stop(self) -> None:
        log.warning(
            "%s of %s/%s did not stop in time: its thread is left to end by itself",
            self.function.name,
            self.step.execution_id,
            self.step.step_id,
        )


class ChildCall(Call):
    _process: child.ChildProcess | None = None

    async def run(self) -> Any:
        self._process = process = await child.start(self.function, self.argument, self.step)
        try:
            async for message in process.messages():
                match message:
                    case ("line", str(stream), str(text)):
                        self.lines(stream, text)
                    case ("fact", dict(raw)):
                        self.facts(raw)
                    case ("ask", str(prompt), schema):
                        process.send(("answer", await self.asker(prompt, schema)))
                    case ("result", value):
                        return value
                    case ("error", str(error)):
                        raise FunctionError("exception", error)
        finally:
            await process.close()
        raise FunctionError(
            "exception", f"the call's process ended without an answer ({process.ending()})"
        )

    def request_stop(self) -> None:
        super().request_stop()
        if self._process is not None:
            self._process.send(("cancel",))

    def force_stop(self) -> None:
        if self._process is not None:
            self._process.kill()


async def settle(call: Call, stopping: "asyncio.Future[str]", grace_s: float) -> Any:
    """Run the call to its end, or stop it once `stopping` has a reason: politely, then,
    after `grace_s`, by force. Raises Stopped, FunctionError, or what the function raised."""
    running = asyncio.ensure_future(call.run())
    await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not running.done():
        reason = stopping.result()
        call.request_stop()
        await asyncio.wait({running}, timeout=grace_s)
        if not running.done():
            call.force_stop()
            running.add_done_callback(_forgotten)
            raise Stopped(f"{reason} (stopped after a grace of {grace_s:g}s)")
    if running.cancelled():
        if stopping.done():
            raise Stopped(stopping.result())
        raise FunctionError("exception", "the call was cancelled")
    return running.result()


def failure(exc: BaseException, lines: LineSink) -> tuple[str, str]:
    """A call's failure as the step's (error, error kind); a function's own exception also
    leaves its traceback in the step's log."""
    if isinstance(exc, Stopped):
        return f"stopped: {exc}", "signal"
    if isinstance(exc, FunctionError):
        return exc.message, exc.kind
    for line in "".join(traceback.format_exception(exc)).splitlines():
        lines("stderr", line)
    return f"{type(exc).__name__}: {exc}", "exception"


def _forgotten(task: "asyncio.Future[Any]") -> None:
    if not task.cancelled():
        task.exception()  # retrieved: a call left behind ends as it will
