"""Durable timers: retries, attempt and overall timeouts, cancel deadlines, TTLs.

A timer is derived from the event that sets it and written by the relay before it
moves past that event, so a crash never forgets one. The timer loop turns each due
timer into a `FireTimer` command; the aggregate ignores timers that no longer matter.
"""

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from nats.js import JetStreamContext
from opentelemetry.trace import SpanKind
from psycopg_pool import ConnectionPool

from execflow_contracts import (
    CancelRequested,
    ExecutionCreated,
    ExecutionEvent,
    ExecutionExpired,
    FireTimer,
    StatusChanged,
    StepRetryScheduled,
    StepStarted,
    Topology,
)
from execflow_platform import command_message, publish_all
from execflow_telemetry import tracing

from .forgetting import FORGET_DELAY, FORGET_TIMER, Forgetter
from .metrics import TIMERS_FIRED

log = logging.getLogger(__name__)

# (execution, name, due at, the trace context of the event that set it)
Timer = tuple[UUID, str, datetime, str | None]


def timers_of(event: ExecutionEvent) -> list[Timer]:
    """The timers an event sets, named so that the aggregate knows what each is for."""
    due: list[tuple[str, datetime | None]] = []
    if isinstance(event, ExecutionCreated):
        due.append(("overall", event.timeout_at))
    elif isinstance(event, StepStarted):
        due.append((f"attempt:{event.step_id}:{event.attempt}:{event.delivery}", event.timeout_at))
    elif isinstance(event, StepRetryScheduled):
        due.append((f"retry:{event.step_id}:{event.attempt}", event.retry_at))
    if isinstance(event, CancelRequested):
        due.append(("cancel", event.force_at))
    if isinstance(event, StatusChanged):
        due.append(("ttl", event.expires_at))
    if isinstance(event, ExecutionExpired):
        due.append((FORGET_TIMER, event.at + FORGET_DELAY))
    return [(event.execution_id, name, at, event.traceparent) for name, at in due if at is not None]


class TimerStore:
    """The `timers` table. Its pool checks connections, so a database restart is survived."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def schedule(self, timers: Sequence[Timer]) -> None:
        with self._pool.connection() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO timers (execution_id, name, due_at, traceparent)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (execution_id, name)"
                " DO UPDATE SET due_at = EXCLUDED.due_at, traceparent = EXCLUDED.traceparent",
                timers,
            )

    def due(self, now: datetime, limit: int = 500) -> list[Timer]:
        """Due timers; the time to live of an execution under a legal hold (the
        catalogue's `legal_holds`) is not due while the hold lasts."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT execution_id, name, due_at, traceparent FROM timers t WHERE due_at <= %s"
                " AND NOT (name = 'ttl' AND EXISTS"
                " (SELECT 1 FROM legal_holds h WHERE h.execution_id = t.execution_id))"
                " ORDER BY due_at LIMIT %s",
                (now, limit),
            ).fetchall()
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def remove(self, timers: Sequence[Timer]) -> None:
        with self._pool.connection() as conn, conn.cursor() as cur:
            cur.executemany(
                "DELETE FROM timers WHERE execution_id = %s AND name = %s AND due_at = %s",
                [timer[:3] for timer in timers],
            )


def fired(execution_id: UUID, name: str, traceparent: str | None) -> dict[str, str] | None:
    """With tracing on, a `timer fired` span in the trace of the event that set the timer,
    and the headers that carry it on its command."""
    attributes = {"execflow.execution_id": str(execution_id), "execflow.timer": name}
    return tracing.headers(tracing.mark(f"fire {name}", traceparent, SpanKind.PRODUCER, attributes))


class TimerLoop:
    """Fires due timers as commands; removes them only once the bus has stored them."""

    def __init__(
        self,
        store: TimerStore,
        js: JetStreamContext,
        topology: Topology,
        tick_s: float = 0.1,
        forgetter: Forgetter | None = None,
    ) -> None:
        self._store = store
        self._forgetter = forgetter
        self._js = js
        self._topology = topology
        self._tick_s = tick_s
        self._lock = asyncio.Lock()  # the store's one connection

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.fire_due()
            except Exception:
                log.exception("firing timers failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._tick_s)

    async def schedule(self, timers: Sequence[Timer]) -> None:
        if timers:
            async with self._lock:
                await asyncio.to_thread(self._store.schedule, timers)

    async def fire_due(self) -> None:
        async with self._lock:
            due = await asyncio.to_thread(self._store.due, datetime.now(UTC))
        if not due:
            return
        # A forget timer is the scheduler's own work, not a command to the aggregate.
        forgets = [timer for timer in due if timer[1] == FORGET_TIMER]
        if forgets and self._forgetter is not None:
            for execution_id, *_ in forgets:
                await self._forgetter.forget(execution_id)
            async with self._lock:
                await asyncio.to_thread(self._store.remove, forgets)
        due = [timer for timer in due if timer[1] != FORGET_TIMER]
        if not due:
            return
        messages = [
            command_message(
                self._topology,
                FireTimer(execution_id=execution_id, timer=name, due_at=at, actor="timer"),
                fired(execution_id, name, traceparent),
            )
            for execution_id, name, at, traceparent in due
        ]
        await publish_all(self._js, messages)
        TIMERS_FIRED.inc(len(messages))
        async with self._lock:
            await asyncio.to_thread(self._store.remove, due)
