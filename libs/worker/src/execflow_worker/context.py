"""The step protocol as plain Python: what a function tells execflow while it runs.

    async def resize(args: Resize, ctx: Context) -> Resized:
        ctx.progress(2, 5, "halfway")
        ctx.checkpoint("downloaded")
        size = await ctx.ask("which size?", {"type": "integer"})
        if ctx.cancelled: ...

A sync function gets a `SyncContext`, whose `ask` blocks. The calls are safe from any
thread the function runs in, and from the child process of a function with hard stops.
"""

import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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
