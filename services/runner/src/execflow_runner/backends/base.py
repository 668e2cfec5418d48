"""What every backend offers the worker: run one step attempt, stop it, report its outcome."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol
from uuid import UUID

from execflow_contracts import ATTEMPT_LABEL, EXECUTION_LABEL, STEP_LABEL, StepWork

LineSink = Callable[[str, str], None]  # (stream, text)
# Longer lines are cut into pieces of this size: one runaway line must not eat memory.
MAX_LINE_BYTES = 1 << 20


class AttemptKey(NamedTuple):
    """One attempt of one step, as strings: the way container labels carry it too."""

    execution_id: str
    step_id: str
    attempt: str

    @classmethod
    def make(cls, execution_id: UUID, step_id: str, attempt: int) -> "AttemptKey":
        return cls(str(execution_id), step_id, str(attempt))

    @classmethod
    def of(cls, work: StepWork) -> "AttemptKey":
        return cls.make(work.execution_id, work.step_id, work.attempt)

    @classmethod
    def from_labels(cls, labels: dict[str, str]) -> "AttemptKey":
        return cls(
            labels.get(EXECUTION_LABEL, ""),
            labels.get(STEP_LABEL, ""),
            labels.get(ATTEMPT_LABEL, ""),
        )


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
        on_line: LineSink,
        on_started: Callable[[], None],
        env: dict[str, str] | None = None,
    ) -> Outcome:
        """Run the attempt in `workspace`; `env` adds variables (the step protocol's
        paths, as seen on the runner's file system, and the values of the secrets the
        step names); the step's own literal `env` (`run.literal_env`) is added last."""
        ...

    async def stop(self, key: AttemptKey, grace_s: float) -> bool:
        """Stop the attempt if it runs here: politely, then by force after `grace_s`."""
        ...


def step_variables(work: StepWork, workspace: str) -> dict[str, str]:
    """What every step finds in its environment besides its own `env`, on any backend."""
    return {
        "EXECFLOW_EXECUTION_ID": str(work.execution_id),
        "EXECFLOW_STEP_ID": work.step_id,
        "EXECFLOW_ATTEMPT": str(work.attempt),
        "EXECFLOW_WORKSPACE": workspace,
    }


def workdir_in(workspace: Path, workdir: str | None) -> Path:
    """The step's working folder: `workdir` under its workspace, never outside it (no
    absolute path, no `..` or symlink out of it); raises ValueError."""
    if not workdir:
        return workspace
    if workdir.startswith("/"):
        raise ValueError(f"workdir {workdir!r} is absolute: it must be inside the workspace")
    root = workspace.resolve()
    folder = (root / workdir).resolve()
    if not folder.is_relative_to(root):
        raise ValueError(f"workdir {workdir!r} leaves the workspace")
    return workspace / folder.relative_to(root)


def exit_outcome(code: int) -> Outcome:
    if code == 0:
        return Outcome(exit_code=0)
    return Outcome(code, f"exited with code {code}", "exit")
