"""The artifact store: files steps declared, and their logs, under one fsspec URL.

A local folder by default; any fsspec filesystem (`s3://bucket/prefix`, `gcs://…`) by
configuration, with its package installed. Only the local one is tested.
Keys are `<execution>/<step>/<attempt>/<name>`.
"""

from pathlib import Path
from typing import IO, Any
from uuid import UUID

import fsspec
from pydantic_settings import BaseSettings, SettingsConfigDict

from execflow_contracts import ARTIFACT_KEY, artifact_key


class ArtifactSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EXECFLOW_", extra="ignore")

    data_dir: Path = Path(".execflow")
    # Where artifacts go: a folder or any fsspec URL; unset, `<data dir>/artifacts`.
    artifacts_url: str | None = None
    # A larger file is refused (the step gets a warning, the artifact is marked refused).
    artifact_max_bytes: int = 100 * 1024 * 1024

    @property
    def artifact_store_url(self) -> str:
        return self.artifacts_url or str((self.data_dir / "artifacts").resolve())


class ArtifactKeyRefused(ValueError):
    pass


class ArtifactStore:
    def __init__(self, url: str) -> None:
        fs, root = fsspec.core.url_to_fs(url)
        self._fs: Any = fs
        self._root = str(root).rstrip("/")

    @staticmethod
    def key(execution_id: UUID, step_id: str, attempt: int, name: str) -> str:
        return artifact_key(execution_id, step_id, attempt, name)

    def put(self, local: Path, key: str) -> None:
        target = self._path(key)
        self._fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        self._fs.put_file(str(local), target)

    def open(self, key: str) -> IO[bytes]:
        handle: IO[bytes] = self._fs.open(self._path(key), "rb")
        return handle

    def _path(self, key: str) -> str:
        """Where the key is under the store's root; a key that is not made as keys are
        (`..`, an absolute path, …) would be somewhere else, and is refused."""
        if ARTIFACT_KEY.match(key) is None:
            raise ArtifactKeyRefused(f"not an artifact key: {key!r}")
        return f"{self._root}/{key}"

    def forget(self, execution_id: UUID) -> None:
        """Delete every artifact of the execution (its time to live is over)."""
        folder = f"{self._root}/{execution_id}"
        if self._fs.exists(folder):
            self._fs.rm(folder, recursive=True)
