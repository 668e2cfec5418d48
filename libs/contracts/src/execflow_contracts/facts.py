"""Step facts: what a running step reports besides progress, questions and its output.

Agent actions and screenshots are counted, checkpoints and artifacts listed on the
execution. A step declares an artifact while it runs; the runner stores the file after
the step ends and reports the artifact again, `stored` or `refused` (with the reason).
"""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FactKind = Literal["action", "screenshot", "checkpoint", "artifact"]
ArtifactStatus = Literal["stored", "refused"]


class StepFact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: FactKind
    at: datetime
    # The action's or checkpoint's name, or the artifact's.
    name: str = ""
    # Further fields of an action (`target`, …).
    data: dict[str, Any] = Field(default_factory=dict)
    # A screenshot's or artifact's path, relative to the workspace.
    path: str | None = None
    # Artifacts only: their kind (`file`, `video`, `output`, `log`, `screenshot`, …),
    # whether they were stored, where in the artifact store, how big, or why refused.
    artifact_kind: str | None = None
    status: ArtifactStatus | None = None
    key: str | None = None
    size: int | None = None
    error: str | None = None
