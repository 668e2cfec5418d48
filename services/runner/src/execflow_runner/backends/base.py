"""What every backend offers the worker: run one step attempt, stop it, report its outcome."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from uuid import UUID

from execflow_contracts import StepWork

LineSink = Callable[[str, str], None]  # (stream, text)
AttemptKey = tuple[UUID, str, int]  # (execution, step, attempt)


def attempt_key(work: StepWork) -> AttemptKey:
    return (work.execution_id, work.step_id, work.attempt)


@dataclass(frozen=True)
class Outcome:
    exit_code: int | None
    error: str | None = None
    # "exit", "signal" or "start" (see execflow_contracts.ErrorKind)
    error_kind: str | None = None


class Backend(Protocol):
    async def run(
        self,
        work: StepWork,
        workspace: Path,
        env: dict[str, str],
        on_line: LineSink,
        on_started: Callable[[], None],
    ) -> Outcome: ...

    async def stop(self, key: AttemptKey, grace_s: float) -> bool:
        """Stop the attempt if it runs here: politely, then by force after `grace_s`."""
        ...
