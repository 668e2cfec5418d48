"""The files of a remote agent's step: what it declared, and its log, uploaded to the API
once it has ended, as a runner stores them.

A declared path must stay in the workspace and name a file; otherwise the artifact is
reported refused with the reason, and the API refuses what is over its size limit.
"""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath
from typing import Any, TextIO

import httpx

from execflow_contracts import Claim

CHUNK_BYTES = 1024 * 1024


class LeaseLostError(Exception):
    """The API no longer holds the job for this agent (404, 409)."""


class StepFiles:
    def __init__(self, workspace: Path, job_path: str, claim: Claim) -> None:
        self._workspace = workspace
        self._job_path = job_path
        self._lease_token = claim.lease_token
        self._step_id = claim.step.step_id
        self._declared: dict[str, tuple[str, str]] = {}  # name → (path, kind)
        self.log_path = workspace / f".{claim.id}.log"
        self._log: TextIO | None = None  # opened with the first line: a silent step has none

    def line(self, stream: str, text: str) -> None:
        if self._log is None:
            self._log = self.log_path.open("a", encoding="utf-8")
        self._log.write(f"{stream}: {text}\n")

    def declare(self, fact: dict[str, Any]) -> None:
        """Note a screenshot or artifact fact; the latest of a name is the one stored."""
        path = fact.get("path")
        if fact.get("type") not in ("screenshot", "artifact") or not isinstance(path, str):
            return
        if fact["type"] == "screenshot":
            name, kind = str(fact.get("name") or PurePosixPath(path).name), "screenshot"
        else:
            name, kind = str(fact.get("name") or ""), str(fact.get("kind") or "file")
        self._declared[name] = (path, kind)

    async def upload(self, http: httpx.AsyncClient) -> list[str]:
        """Upload every declared file, then the log (which says what was refused); the
        lines saying so, for the live log too."""
        said = []
        for name, (path, kind) in self._declared.items():
            problem = await self._upload_one(http, name, path, kind)
            if problem:
                said.append(f"execflow: artifact '{name}' refused: {problem}")
                self.line("stderr", said[-1])
        if self._log is not None:
            self._log.close()
            log_path = str(self.log_path.relative_to(self._workspace))
            await self._upload_one(http, f"{self._step_id}.log", log_path, "log")
        return said

    async def _upload_one(
        self, http: httpx.AsyncClient, name: str, path: str, kind: str
    ) -> str | None:
        params = {"kind": kind, "path": path}
        local, refused = self._check(path)
        if refused is not None:
            params["refused"] = refused
        try:
            response = await http.put(
                f"{self._job_path}/artifacts/{name}",
                params=params,
                headers={"Execflow-Lease-Token": self._lease_token},
                content=_chunks(local) if local is not None else b"",
            )
        except httpx.HTTPError as exc:  # the step's outcome still gets reported
            return f"upload failed: {exc}"
        if response.status_code in (404, 409):
            raise LeaseLostError(response.text)
        if not response.is_success:
            return f"{response.status_code} {_reason(response)}"
        return refused

    def _check(self, path: str) -> tuple[Path | None, str | None]:
        root = self._workspace.resolve()
        local = (root / path).resolve()
        if not local.is_relative_to(root):
            return None, f"{path}: the path leaves the workspace"
        if not local.is_file():
            return None, f"{path}: no such file in the workspace"
        return local, None


async def _chunks(local: Path) -> AsyncIterator[bytes]:
    with local.open("rb") as file:
        while chunk := await asyncio.to_thread(file.read, CHUNK_BYTES):
            yield chunk


def _reason(response: httpx.Response) -> str:
    try:
        return str(response.json().get("reason", response.text))
    except ValueError:
        return response.text
