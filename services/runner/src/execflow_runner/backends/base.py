"""What every backend offers the worker: run one step attempt, report its outcome."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from execflow_contracts import StepWork

LineSink = Callable[[str, str], None]  # (stream, text)
# Longer lines are cut into pieces of this size: one runaway line must not eat memory.
MAX_LINE_BYTES = 1 << 20


@dataclass(frozen=True)
class Outcome:
    exit_code: int | None
    error: str | None = None


class Backend(Protocol):
    async def run(
        self, work: StepWork, workspace: Path, on_line: LineSink, on_started: Callable[[], None]
    ) -> Outcome: ...


def step_variables(work: StepWork, workspace: str) -> dict[str, str]:
    """What every step finds in its environment besides its own `env`, on any backend."""
    return {
        "EXECFLOW_EXECUTION_ID": str(work.execution_id),
        "EXECFLOW_STEP_ID": work.step_id,
        "EXECFLOW_ATTEMPT": str(work.attempt),
        "EXECFLOW_WORKSPACE": workspace,
    }


def exit_outcome(code: int) -> Outcome:
    return Outcome(exit_code=0) if code == 0 else Outcome(code, f"exited with code {code}")
