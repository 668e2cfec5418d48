"""Each step on its backend: in a container when it names an image (a Kubernetes Job on a
runner configured for it, else a Docker container), else as a process."""

from collections.abc import Callable
from pathlib import Path

from execflow_contracts import BackendName, StepWork

from .base import AttemptKey, Backend, LineSink, Outcome


class Backends:
    """The runner's backends, as one `Backend` the worker runs every step on."""

    def __init__(self, available: dict[BackendName, Backend]) -> None:
        self._available = available

    @property
    def names(self) -> list[BackendName]:
        return sorted(self._available)

    async def run(
        self,
        work: StepWork,
        workspace: Path,
        on_line: LineSink,
        on_started: Callable[[], None],
        env: dict[str, str] | None = None,
    ) -> Outcome:
        backend = self.backend_of(work)
        if backend is None:
            # Failing says why; handing it back would loop if no runner has the backend.
            return Outcome(
                None,
                f"runner has no {work.run.backend} backend (available: {self.names})",
                "start",
            )
        return await backend.run(work, workspace, on_line, on_started, env)

    def backend_of(self, work: StepWork) -> Backend | None:
        if work.run.backend == "docker" and "kubernetes" in self._available:
            return self._available["kubernetes"]
        return self._available.get(work.run.backend)

    async def stop(self, key: AttemptKey, grace_s: float) -> bool:
        stopped = [await b.stop(key, grace_s) for b in self._available.values()]
        return any(stopped)
