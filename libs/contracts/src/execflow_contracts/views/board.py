"""Views of the dashboard's board: executions as cards in columns by status (see `base`
for what every view shares)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from ..statuses import ExecutionStatus
from .base import View
from .executions import Progress


class BoardCard(View):
    """An execution's summary without its input, output, error and links (an output can
    be 256 KiB: the execution's page reads it), with its progress, its steps counted
    by status, and its column."""

    id: UUID
    status: ExecutionStatus
    message: str
    metadata: dict[str, Any]
    n_steps: int
    workflow_id: str | None
    name: str | None
    queue: str | None
    worker: str | None
    parent_id: UUID | None
    schedule_id: str | None
    duration_ms: int | None
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    updated_at: datetime
    version: int | None
    progress: Progress | None
    step_counts: dict[str, int]
    queue_wait_ms: int | None
    logs_url: str | None
    column: str


class BoardColumn(View):
    statuses: list[ExecutionStatus]
    # Counted up to 10,000: then `capped`.
    count: int
    capped: bool
    # Its newest cards, `limit` at most.
    items: list[BoardCard]


class Board(View):
    # `queued`, `running`, `awaiting_input`, `completed`, `failed`, `stopped`.
    columns: dict[str, BoardColumn]


class Signal(View):
    """An event that says only its name (a board stream's `ready` and `resync`)."""
