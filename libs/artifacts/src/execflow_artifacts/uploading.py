"""Stores what a step declared (artifacts, screenshots) and its log, after it ends.

Paths are relative to the workspace and may not leave it; a file over the size limit
is refused with the reason, and the step's log says so."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from execflow_contracts import StepFact, StepWork

from .store import ArtifactStore


class Uploader:
    def __init__(self, store: ArtifactStore, max_bytes: int) -> None:
        self.store = store
        self._max_bytes = max_bytes

    async def upload(self, work: StepWork, workspace: Path, declared: StepFact) -> StepFact:
        """The declared artifact again, `stored` (with its key and size) or `refused`; a
        screenshot comes back as an artifact of kind `screenshot` (it is counted once)."""
        try:
            local = self._check(workspace, declared.path or "")
            key = self.store.key(work.execution_id, work.step_id, work.attempt, declared.name)
            await asyncio.to_thread(self.store.put, local, key)
        except (ArtifactRefused, OSError) as exc:
            return declared.model_copy(
                update={
                    "kind": "artifact",
                    "status": "refused",
                    "error": str(exc),
                    "at": datetime.now(UTC),
                }
            )
        return declared.model_copy(
            update={
                "kind": "artifact",
                "status": "stored",
                "key": key,
                "size": local.stat().st_size,
                "at": datetime.now(UTC),
            }
        )

    def _check(self, workspace: Path, path: str) -> Path:
        root = workspace.resolve()
        local = (root / path).resolve()
        if not local.is_relative_to(root):
            raise ArtifactRefused(f"{path}: the path leaves the workspace")
        if not local.is_file():
            raise ArtifactRefused(f"{path}: no such file in the workspace")
        size = local.stat().st_size
        if size > self._max_bytes:
            raise ArtifactRefused(
                f"{path}: {size} bytes is over the artifact size limit of {self._max_bytes}"
                " bytes (EXECFLOW_ARTIFACT_MAX_BYTES)"
            )
        return local


class ArtifactRefused(Exception):
    pass
