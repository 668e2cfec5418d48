"""The outbox relay: every stored event reaches the bus, in order, at least once.

Events are saved before they are published. After a save the relay publishes the
new notifications at once; after a crash it resumes from its last recorded
position, and `Nats-Msg-Id` (the event's identity) makes re-publishing harmless.
"""

import asyncio
import logging
import time
from collections.abc import Sequence
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Recording
from nats.js import JetStreamContext
from psycopg_pool import ConnectionPool

from execflow_contracts import Topology
from execflow_platform import publish_all

from .application import ExecutionsApplication
from .dispatch import Dispatcher
from .publishing import outgoing, to_contract
from .timers import TimerLoop, timers_of

log = logging.getLogger(__name__)

POSITION_TABLE = "relay_position"
PAGE = 500


class Relay:
    def __init__(
        self,
        app: ExecutionsApplication,
        js: JetStreamContext,
        topology: Topology,
        pool: ConnectionPool,
        timers: TimerLoop,
        dispatcher: Dispatcher,
        max_event_bytes: int,
        save_every_s: float = 1.0,
    ) -> None:
        self._timers = timers
        self._dispatcher = dispatcher
        self._app = app
        self._js = js
        self._topology = topology
        self._pool = pool
        self._max_event_bytes = max_event_bytes
        self._save_every_s = save_every_s
        self._published = 0
        self._saved = 0
        self._saved_at = 0.0
        self._lock = asyncio.Lock()
        self._behind = True

    async def start(self) -> None:
        self._published = self._saved = await asyncio.to_thread(self._load_position)
        await self.catch_up()

    async def publish(self, recordings: Sequence[Recording[UUID]]) -> None:
        """Publish what was just saved; go back to the store if anything is missing."""
        async with self._lock:
            ids = [r.notification.id for r in recordings]
            contiguous = ids == list(range(self._published + 1, self._published + 1 + len(ids)))
            if self._behind or not contiguous:
                await self._catch_up_locked()
            elif recordings:
                await self._send([r.domain_event for r in recordings], ids[-1])
            await self._maybe_save_position()

    def prepare(self) -> None:
        """A batch of commands has come: what publishing its events needs can be read
        while it is applied."""
        self._dispatcher.read_limits_soon()

    async def catch_up(self) -> None:
        async with self._lock:
            await self._catch_up_locked()
            await self._maybe_save_position(force=True)

    async def close(self) -> None:
        async with self._lock:
            await self._maybe_save_position(force=True)

    async def _catch_up_locked(self) -> None:
        while True:
            page = await asyncio.to_thread(
                self._app.recorder.select_notifications,
                self._published + 1,
                PAGE,
            )
            if not page:
                self._behind = False
                return
            events = [self._app.mapper.to_domain_event(n) for n in page]
            await self._send(events, page[-1].id)

    async def _send(self, events: Sequence[DomainEventProtocol[UUID]], last_id: int) -> None:
        contract_events = [to_contract(e) for e in events]
        try:
            # Work that must wait for a slot is left to the dispatcher.
            direct = await self._dispatcher.track(contract_events)
            messages = outgoing(contract_events, self._topology, direct, self._max_event_bytes)
            await publish_all(self._js, messages)
            await self._timers.schedule([t for e in contract_events for t in timers_of(e)])
        except Exception:
            self._behind = True  # the next publish starts from the store
            raise
        self._published = last_id

    async def _maybe_save_position(self, force: bool = False) -> None:
        # Saved lazily: after a crash, re-publishing a second of events is deduplicated.
        now = time.monotonic()
        recent = now - self._saved_at < self._save_every_s
        if self._published == self._saved or (recent and not force):
            return
        await asyncio.to_thread(self._save_position, self._published)
        self._saved, self._saved_at = self._published, now

    def _load_position(self) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(
                f"SELECT notification_id FROM {POSITION_TABLE} WHERE name = 'events'"
            ).fetchone()
        return int(row[0]) if row else 0

    def _save_position(self, position: int) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                f"INSERT INTO {POSITION_TABLE} (name, notification_id) VALUES ('events', %s)"
                " ON CONFLICT (name) DO UPDATE SET notification_id = EXCLUDED.notification_id",
                (position,),
            )
