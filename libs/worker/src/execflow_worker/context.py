"""The step protocol as plain Python: what a function tells execflow while it runs.

    async def resize(args: Resize, ctx: Context) -> Resized:
        ctx.progress(2, 5, "halfway")
        ctx.checkpoint("downloaded")
        ctx.artifact("thumbnail", "out/thumb.png")
        size = await ctx.ask("which size?", {"type": "integer"})
        if ctx.cancelled: ...

A sync function gets a `SyncContext`, whose `ask` blocks. The calls are safe from any
thread the function runs in, and from the child process of a function with hard stops.
"""

import logging
import os
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

# A protocol fact, as a step would write it to $EXECFLOW_EVENTS.
FactSink = Callable[[dict[str, Any]], None]
Schema = dict[str, Any] | None


@dataclass(frozen=True)
class StepIdentity:
    execution_id: UUID
    step_id: str
    attempt: int
    delivery: int
    function: str


class StepContext:
    def __init__(self, step: StepIdentity, facts: FactSink, cancelled: threading.Event) -> None:
        self.execution_id = step.execution_id
        self.step_id = step.step_id
        self.attempt = step.attempt
        self.delivery = step.delivery
        self.function = step.function
        # Logs at INFO and above whatever the root logger's level: its lines are the step's.
        self.logger = logging.getLogger(f"execflow.function.{step.function}")
        self.logger.setLevel(logging.INFO)
        self._facts = facts
        self._cancelled = cancelled

    @property
    def cancelled(self) -> bool:
        """The step was asked to stop (a cancel, a timeout): return or raise soon; after
        the worker's grace the call is stopped anyway."""
        return self._cancelled.is_set()

    def progress(self, current: float, maximum: float | None = None, message: str = "") -> None:
        self._facts({"type": "progress", "current": current, "max": maximum, "message": message})

    def checkpoint(self, name: str) -> None:
        self._facts({"type": "checkpoint", "name": name})

    def action(self, name: str, **fields: Any) -> None:
        """An agent action: counted in the execution's `n_agent_actions`."""
        self._facts({"type": "action", "name": name, **fields})

    def artifact(self, name: str, path: str | os.PathLike[str], kind: str = "file") -> None:
        """A file to keep (`kind`: `file`, `output`, `video`, …): stored in the artifact
        store when the call ends, listed on the execution, served by the API."""
        self._facts({"type": "artifact", "name": name, "path": _absolute(path), "kind": kind})

    def screenshot(self, path: str | os.PathLike[str], name: str | None = None) -> None:
        """A screenshot: counted in `n_screenshots`, stored as an artifact."""
        fact = {"type": "screenshot", "path": _absolute(path)}
        self._facts(fact | ({"name": name} if name else {}))


class Context(StepContext):
    """An async function's context."""

    def __init__(
        self,
        step: StepIdentity,
        facts: FactSink,
        cancelled: threading.Event,
        asker: Callable[[str, Schema], Awaitable[Any]],
    ) -> None:
        super().__init__(step, facts, cancelled)
        self._asker = asker

    async def ask(self, prompt: str, schema: Schema = None) -> Any:
        """Ask a person (the execution waits in `awaiting_input`) and return the answer,
        which the API checked against `schema` (a JSON Schema)."""
        return await self._asker(prompt, schema)


class SyncContext(StepContext):
    """A sync function's context (it runs in a thread of the worker, or a child process)."""

    def __init__(
        self,
        step: StepIdentity,
        facts: FactSink,
        cancelled: threading.Event,
        asker: Callable[[str, Schema], Any],
    ) -> None:
        super().__init__(step, facts, cancelled)
        self._asker = asker

    def ask(self, prompt: str, schema: Schema = None) -> Any:
        """Ask and wait for the answer (see `Context.ask`)."""
        return self._asker(prompt, schema)


def _absolute(path: str | os.PathLike[str]) -> str:
    """Where the call's process sees the file (a function has no workspace of its own)."""
    return str(Path(path).resolve())
