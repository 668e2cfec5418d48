"""What one batch does to the executions it touches, decided in memory, in order.

The batch starts from each execution's row as it was read (version and status) and
takes its events one by one: an event is new if its version is above the row's (a
creation, if there is no row), and what it finds is the row as the events before it
left it. Nothing here waits for the database.
"""

from datetime import datetime
from typing import NamedTuple
from uuid import UUID

from execflow_contracts import (
    AnyEvent,
    ExecutionCreated,
    ExecutionExpired,
    ExecutionStatus,
    StatusChanged,
    StepFailed,
    StepSucceeded,
    TransitionType,
)

from .rows import ExecutionRow, happened_at


class Transition(NamedTuple):
    execution_id: UUID
    version: int
    type: TransitionType
    from_status: ExecutionStatus | None
    to_status: ExecutionStatus
    reason: str
    actor: str
    at: datetime


class Batch:
    def __init__(self, rows: dict[UUID, ExecutionRow]) -> None:
        self.rows = rows
        self.created: list[ExecutionCreated] = []
        self.taken: list[AnyEvent] = []  # new events other than creations, in order
        self.transitions: list[Transition] = []
        # Expired by this batch: a creation arriving after it (a re-published one) is
        # not applied, as its row would be inserted before the expiry deletes it.
        self._gone: set[UUID] = set()

    def take(self, event: AnyEvent) -> None:
        if isinstance(event, ExecutionCreated):
            self._create(event)
        else:
            self._advance(event)

    def _create(self, event: ExecutionCreated) -> None:
        if event.execution_id in self.rows or event.execution_id in self._gone:
            return  # created before: a redelivery
        pending = ExecutionStatus.PENDING
        self.rows[event.execution_id] = ExecutionRow(event.execution_id, event.version, pending)
        self.created.append(event)
        self._record(event, TransitionType.INIT, None, pending, "created", event.actor)

    def _advance(self, event: AnyEvent) -> None:
        row = self.rows.get(event.execution_id)
        if row is None or not row.takes(event):
            return  # applied before, or its execution is gone
        before = row.status
        row.take(event)
        self.taken.append(event)
        if isinstance(event, StatusChanged):
            self._record(
                event,
                event.transition,
                event.from_status,
                event.to_status,
                event.reason,
                event.actor,
            )
        elif isinstance(event, (StepSucceeded, StepFailed)):
            outcome = "succeeded" if isinstance(event, StepSucceeded) else f"failed: {event.error}"
            reason = f"step '{event.step_id}' {outcome}"
            self._record(event, TransitionType.STEP, before, before, reason, "scheduler")
        elif isinstance(event, ExecutionExpired):
            self._expire(event.execution_id)

    def _record(
        self,
        event: AnyEvent,
        kind: TransitionType,
        from_status: ExecutionStatus | None,
        to_status: ExecutionStatus,
        reason: str,
        actor: str,
    ) -> None:
        self.transitions.append(
            Transition(
                event.execution_id,
                event.version,
                kind,
                from_status,
                to_status,
                reason,
                actor,
                happened_at(event) if isinstance(event, StatusChanged) else event.at,
            )
        )

    def _expire(self, execution_id: UUID) -> None:
        """Its rows are deleted in order with the batch's other statements; what the batch
        would write for it at the end is dropped instead."""
        del self.rows[execution_id]
        self._gone.add(execution_id)
        self.transitions = [t for t in self.transitions if t.execution_id != execution_id]
