"""Step facts: what a running step reports besides progress, questions and its output.

Agent actions and screenshots are counted, checkpoints and artifacts listed on the
execution. A step declares an artifact while it runs; the runner stores the file after
the step ends and reports the artifact again, `stored` or `refused` (with the reason).
"""

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from .json_values import MAX_OUTPUT_BYTES, BoundedJsonObject

FactKind = Literal["action", "screenshot", "checkpoint", "artifact"]
ArtifactStatus = Literal["stored", "refused"]
ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# Where a stored artifact is in the artifact store: `<execution>/<step>/<attempt>/<name>`
# (a step's log is `<step>.log`, whose step id may start with `_` or `-`). No segment is
# `.` or `..`, none is empty: a key never leaves its execution's prefix.
ARTIFACT_KEY = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"/[A-Za-z0-9_-]{1,64}/[0-9]{1,9}/[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$"
)


def artifact_key(execution_id: UUID, step_id: str, attempt: int, name: str) -> str:
    return f"{execution_id}/{step_id}/{attempt}/{name}"


def artifact_key_of(key: str, execution_id: UUID) -> bool:
    """Whether `key` is a well-made key of that execution's artifacts."""
    return ARTIFACT_KEY.match(key) is not None and key.startswith(f"{execution_id}/")


class StepFact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: FactKind
    at: datetime
    # The action's or checkpoint's name, or the artifact's.
    name: str = ""
    # Further fields of an action (`target`, …).
    data: BoundedJsonObject = Field(default_factory=dict)
    # A screenshot's or artifact's path, relative to the workspace.
    path: str | None = None
    # Artifacts only: their kind (`file`, `video`, `output`, `log`, `screenshot`, …),
    # whether they were stored, where in the artifact store, how big, or why refused.
    artifact_kind: str | None = None
    status: ArtifactStatus | None = None
    key: str | None = None
    size: int | None = None
    error: str | None = None


FACT_KINDS = ("action", "screenshot", "checkpoint", "artifact")

# A fact as a step writes it is reported in a bus message (1 MB by default): an output,
# and a little around it, at most.
MAX_FACT_BYTES = MAX_OUTPUT_BYTES + 4096
# Facts reported together, in one message: the batch ends before it passes this.
MAX_FACTS_BATCH_BYTES = 256 * 1024


def fact_batches(facts: Sequence[StepFact]) -> list[list[StepFact]]:
    """The facts in order, in batches of at most MAX_FACTS_BATCH_BYTES as JSON (a fact
    larger than that alone)."""
    batches: list[list[StepFact]] = []
    batch: list[StepFact] = []
    size = 0
    for fact in facts:
        fact_size = len(fact.model_dump_json())
        if batch and size + fact_size > MAX_FACTS_BATCH_BYTES:
            batches.append(batch)
            batch, size = [], 0
        batch.append(fact)
        size += fact_size
    if batch:
        batches.append(batch)
    return batches


class MalformedFact(ValueError):
    pass


def parse_fact(raw: dict[str, Any]) -> StepFact:
    kind = raw["type"]
    now = datetime.now(UTC)
    if kind == "action":
        name = _text(raw, "name")
        data = {k: v for k, v in raw.items() if k not in ("type", "name")}
        return StepFact(kind="action", at=now, name=name, data=data)
    if kind == "checkpoint":
        return StepFact(kind="checkpoint", at=now, name=_text(raw, "name"))
    path = _text(raw, "path")
    if kind == "screenshot":
        name = str(raw.get("name") or PurePosixPath(path).name)
        return StepFact(
            kind="screenshot", at=now, name=_name(name), path=path, artifact_kind="screenshot"
        )
    artifact_kind = str(raw.get("kind") or "file")
    return StepFact(
        kind="artifact",
        at=now,
        name=_name(_text(raw, "name")),
        path=path,
        artifact_kind=artifact_kind,
    )


def _text(raw: dict[str, Any], field: str) -> str:
    value = raw.get(field)
    if not isinstance(value, str) or not value:
        raise MalformedFact(f"'{field}' must be a non-empty string")
    return value


def _name(name: str) -> str:
    if not ARTIFACT_NAME.match(name):
        raise MalformedFact(f"artifact name {name!r}: letters, digits, '.', '_', '-' only")
    return name
