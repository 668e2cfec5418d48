"""The outbox relay: every stored event reaches the bus, in order, at least once.

Events are saved before they are published. After a save the relay publishes the
new notifications at once; after a crash it resumes from its last recorded
position, and `Nats-Msg-Id` (the event's identity) makes re-publishing harmless.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Recording
from nats.js import JetStreamContext
from psycopg_pool import ConnectionPool

from execflow_contracts import Topology
from execflow_platform import StreamKeeper, publish_all

from .application import ExecutionsApplication
from .dispatch import Dispatcher
from .liveness import live_dispatches
from .publishing import outgoing, to_contract
from .refill import Refill
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
        keeper: StreamKeeper,
        refill: Refill,
        save_every_s: float = 1.0,
    ) -> None:
        self._keeper = keeper
        self._refill = refill
        self._background: set[asyncio.Task[None]] = set()
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
        async with self._lock:
            await self._refill_remade_streams()
        await self.catch_up()

    async def follow_streams(self, stop: asyncio.Event) -> None:
        """Fill again, from the event store, any stream NATS lost and was made anew."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._keeper.changed.wait(), 1.0)
            if not self._keeper.changed.is_set():
                continue
            self._keeper.changed.clear()
            try:
                async with self._lock:
                    await self._refill_remade_streams()
                    await self._catch_up_locked()
            except Exception:
                log.exception("filling a stream made anew failed; trying again")
                self._keeper.changed.set()
                await asyncio.sleep(1.0)

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
        for task in self._background:
            task.cancel()
        async with self._lock:
            await self._maybe_save_position(force=True)

    async def _catch_up_locked(self) -> None:
        """Publish what the store holds after the last published event. Its work goes
        out only if its attempt still waits (see liveness.py)."""
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
            await self._send(events, page[-1].id, live_only=True)

    async def _refill_remade_streams(self) -> None:
        """Compare the streams' makings with those published into: EVENTS made anew is
        published again from the first event (the catch-up that follows does it); WORK
        made anew gets the work still waiting, and the dispatcher's slots again."""
        known = await asyncio.to_thread(self._stream_makings)
        topology = self._topology
        events, work, commands = (
            topology.events_stream,
            topology.work_stream,
            topology.commands_stream,
        )
        remade = {
            stream
            for stream in (events, work, commands)
            if stream in known and known[stream] != self._keeper.created(stream)
        }
        if events in remade:
            log.warning("EVENTS was made anew: publishing every stored event again")
            self._published, self._behind = 0, True
        if work in remade:
            log.warning("WORK was made anew: dispatching the waiting work again")
            await self._dispatcher.release_again()
            await self._refill.waiting_work()
        if remade & {work, commands}:
            # Work held when it was lost, or a finish report lost with COMMANDS, leaves an
            # attempt running for ever: once runners have registered again, it is sent again.
            task = asyncio.create_task(self._refill.orphaned_runs())
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        await asyncio.to_thread(
            self._record_makings,
            {s: self._keeper.created(s) for s in (events, work, commands)},
        )

    async def _send(
        self, events: Sequence[DomainEventProtocol[UUID]], last_id: int, live_only: bool = False
    ) -> None:
        contract_events = [to_contract(e) for e in events]
        try:
            # Work that must wait for a slot is left to the dispatcher.
            direct = await self._dispatcher.track(contract_events)
            if live_only and direct:
                direct &= await asyncio.to_thread(live_dispatches, self._app, contract_events)
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

    def _stream_makings(self) -> dict[str, datetime]:
        with self._pool.connection() as conn:
            rows = conn.execute("SELECT stream, created FROM relay_streams").fetchall()
        return {stream: created for stream, created in rows}

    def _record_makings(self, makings: dict[str, datetime | None]) -> None:
        with self._pool.connection() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO relay_streams (stream, created) VALUES (%s, %s)"
                " ON CONFLICT (stream) DO UPDATE SET created = EXCLUDED.created",
                [(stream, created) for stream, created in makings.items() if created],
            )
