"""An execution's row as one batch sees it: its version and status, read once when the
batch starts and kept in memory as the batch's events apply; and the columns those
events set, written back in one UPDATE when the batch ends.

Folding the events' UPDATEs into one is exact because every column an event sets here
is either overwritten (the last event's value wins, as it would one UPDATE at a time)
or a first-time timestamp (the first event's wins, if the row has none yet).
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from execflow_contracts import (
    AnyEvent,
    ExecutionCancelled,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionRetried,
    ExecutionStarted,
    ExecutionStatus,
    ExecutionTimedOut,
    StatusChanged,
    StepProgressed,
)

from . import listing

# The timestamp column each status stamps when the execution enters it first.
STATUS_TIMESTAMPS = {
    ExecutionStatus.QUEUED: "queued_at",
    ExecutionStatus.RUNNING: "started_at",
    ExecutionStatus.COMPLETED: "completed_at",
    ExecutionStatus.FAILED: "completed_at",
    ExecutionStatus.CANCELLED: "completed_at",
    ExecutionStatus.TIMED_OUT: "completed_at",
}


def happened_at(event: StatusChanged) -> datetime:
    """When the move happened: an execution started when its first step did (its start
    report is applied later), anything else when it was stored."""
    return event.started if isinstance(event, ExecutionStarted) else event.at


@dataclass
class ExecutionRow:
    id: UUID
    version: int
    status: ExecutionStatus
    # Columns to overwrite, and first-time timestamps to write only where still empty.
    sets: dict[str, Any] = field(default_factory=dict)
    stamps: dict[str, datetime] = field(default_factory=dict)

    def takes(self, event: AnyEvent) -> bool:
        """Whether the event is new here: a redelivered or re-published one is not."""
        return event.version > self.version

    def take(self, event: AnyEvent) -> None:
        self.version = event.version
        self.sets |= {"version": event.version, "updated_at": event.at}
        self.sets |= listing.columns(event)
        if isinstance(event, StatusChanged):
            self._change_status(event)
        elif isinstance(event, ExecutionRetried):
            self.sets["retried_by"] = event.new_execution_id
        elif isinstance(event, StepProgressed):
            progress = {"current": event.current, "max": event.max, "message": event.message}
            self.sets["progress"] = Jsonb(progress | {"step_id": event.step_id})

    def _change_status(self, event: StatusChanged) -> None:
        self.status = event.to_status
        self.sets |= {"status": event.to_status, "message": event.reason}
        if stamp := STATUS_TIMESTAMPS.get(event.to_status):
            self.stamps.setdefault(stamp, happened_at(event))
        if isinstance(event, ExecutionCompleted):
            self.sets["output"] = Jsonb(event.output)
        if isinstance(event, ExecutionFailed):
            self.sets["error"] = Jsonb(event.error)
        if isinstance(event, (ExecutionCancelled, ExecutionTimedOut)):
            self.sets["stopped_steps"] = Jsonb(event.stopped_steps)

    @property
    def shape(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The columns its UPDATE writes: rows of one shape share a statement."""
        return tuple(sorted(self.sets)), tuple(sorted(self.stamps))

    def params(self) -> dict[str, Any]:
        return self.sets | self.stamps | {"id": self.id}


def update_statement(sets: tuple[str, ...], stamps: tuple[str, ...]) -> str:
    """`projected_at` says when the row took its latest event (the projection lag)."""
    assignments = [
        *(f"{column} = %({column})s" for column in sets),
        *(f"{column} = coalesce({column}, %({column})s)" for column in stamps),
        "projected_at = clock_timestamp()",
    ]
    return f"UPDATE executions SET {', '.join(assignments)} WHERE id = %(id)s"
