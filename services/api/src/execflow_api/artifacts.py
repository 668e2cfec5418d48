"""Artifacts as clients see them: listed from the execution's read model, with a download
URL each; the execution's `output_url`, `video_url` and `logs_url` point at them."""

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from execflow_contracts import ArtifactNotFound, artifact_key_of
from execflow_platform import ArtifactStore

CHUNK = 64 * 1024


def present(base: str, artifact: dict[str, Any]) -> dict[str, Any]:
    """`base` is the execution's URL."""
    body = {k: v for k, v in artifact.items() if k != "key"}
    stored = artifact.get("status") == "stored"
    body["url"] = f"{base}/artifacts/{artifact['name']}" if stored else None
    return body


def urls(base: str, artifacts: list[dict[str, Any]]) -> dict[str, str | None]:
    """The latest stored artifact of each kind the execution's links name."""
    latest: dict[str, str | None] = {"output_url": None, "video_url": None, "logs_url": None}
    for artifact in artifacts:
        url = present(base, artifact)["url"]
        kind, name = artifact.get("kind"), artifact.get("name")
        if url is None:
            continue
        if kind == "output" or name == "output":
            latest["output_url"] = url
        elif kind == "video":
            latest["video_url"] = url
        elif kind == "log":
            latest["logs_url"] = url
    return latest


def find(execution_id: UUID, artifacts: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for artifact in reversed(artifacts):
        if artifact.get("name") == name:
            if artifact.get("status") != "stored":
                reason = artifact.get("error") or "it is not stored (yet)"
                raise ArtifactNotFound(f"artifact '{name}' has no content: {reason}")
            if not artifact_key_of(str(artifact.get("key")), execution_id):
                # Never served from outside the execution's place in the store, whatever
                # a report said (reports are checked too; this holds for older ones).
                raise ArtifactNotFound(f"artifact '{name}' has no content in this execution")
            found: dict[str, Any] = artifact
            return found
    raise ArtifactNotFound(f"execution {execution_id} has no artifact '{name}'")


def chunks(store: ArtifactStore, key: str) -> Iterator[bytes]:
    """The file in chunks (Starlette iterates a sync iterator in a thread)."""
    with store.open(key) as f:
        while chunk := f.read(CHUNK):
            yield chunk
