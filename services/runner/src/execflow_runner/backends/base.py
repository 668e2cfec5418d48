"""What every backend offers the worker: run one step attempt, report its outcome."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from execflow_contracts import StepWork

LineSink = Callable[[str, str], None]  # (stream, text)


@dataclass(frozen=True)
class Outcome:
    exit_code: int | None
    error: str | None = None


class Backend(Protocol):
    async def run(
        self, work: StepWork, workspace: Path, on_line: LineSink, on_started: Callable[[], None]
    ) -> Outcome: ...
