"""Read-model change notices: the projector says which executions a batch changed, and
live streams wake on it instead of polling.

A notice is PostgreSQL's NOTIFY, sent in the batch's own transaction: it is delivered
when the batch commits and never if it does not, so a listener that re-reads on a
notice sees the rows. A notice is only a hint to read again, never the data: one that
is lost (the listener was reconnecting) costs its waiters one fallback interval.
"""

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Iterator
from uuid import UUID

from psycopg import AsyncConnection, sql
from psycopg.conninfo import make_conninfo

from execflow_bus import retrying

log = logging.getLogger(__name__)

# NOTIFY channels are per database, and several execflows may share one: each schema
# has its own.
CHANNEL_PREFIX = "execflow_changes"
# A notice's payload is at most 8,000 bytes: a batch touching more executions sends
# several. (Waking every stream instead would cost a busy API a read per open stream
# for every large batch.)
MAX_IDS = 200
# A listener only reads: it would wait forever on a server that vanished without closing
# the connection. TCP keepalives end it in ~11 s (libpq ignores them on unix sockets).
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
}
FALLBACK_S = 1.0
# The server keeps each notice until every listener has read it, and a commit that
# notifies fails once that queue (8 GB) is full: a listener that is alive but stuck
# (a stopped API) would end up stopping the projector. Past half full, batches send no
# notices and streams move at the fallback's pace instead.
MAX_QUEUE_USAGE = 0.5


def changes_channel(schema: str) -> str:
    return f"{CHANNEL_PREFIX}.{schema}"


async def notify_changed(
    conn: AsyncConnection,
    channel: str,
    execution_ids: Iterable[UUID],
    max_queue_usage: float = MAX_QUEUE_USAGE,
) -> None:
    """Within a batch's transaction: these executions' read models changed. Sent only
    while the server's notice queue is less than `max_queue_usage` full."""
    ids = [str(i) for i in set(execution_ids)]
    payloads = [" ".join(ids[at : at + MAX_IDS]) for at in range(0, len(ids), MAX_IDS)]
    await conn.execute(
        "SELECT pg_notify(%s, payload) FROM unnest(%s::text[]) AS payload"
        " WHERE pg_notification_queue_usage() < %s",
        (channel, payloads, max_queue_usage),
    )


class ChangeFeed:
    """One LISTEN connection, fanned out to whoever waits on an execution."""

    def __init__(
        self,
        conninfo: str,
        channel: str,
        fallback_s: float = FALLBACK_S,
    ) -> None:
        self._conninfo = conninfo
        self._channel = channel
        self._fallback_s = fallback_s
        # Keyed as notices name them: a notice's ids are not parsed.
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._watching_all: set[WatchAll] = set()
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def listening(self) -> bool:
        """Whether notices are heard now (else waiters move at the fallback's pace)."""
        return self._listening.is_set()

    @property
    def fallback_s(self) -> float:
        return self._fallback_s

    async def start(self, ready_timeout_s: float = 5.0) -> None:
        """Listen in the background; waits (a while) for the first LISTEN, so that what
        is committed after start is noticed. If PostgreSQL is away the feed keeps
        trying, and waiters fall back on their interval meanwhile."""
        self._task = asyncio.create_task(self._listen())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), ready_timeout_s)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @contextlib.contextmanager
    def watch(self, execution_id: UUID) -> Iterator["Watch"]:
        """Changes to one execution, from now until the block ends. Watch first, then
        read: a change committed while reading is not missed."""
        key = str(execution_id)
        changed = asyncio.Event()
        self._waiters.setdefault(key, set()).add(changed)
        try:
            yield Watch(changed, self._fallback_s)
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(changed)
                if not waiters:
                    del self._waiters[key]

    @contextlib.contextmanager
    def watch_all(self) -> Iterator["WatchAll"]:
        """Which executions change, whichever they are (a board of them), from now until
        the block ends."""
        watch = WatchAll(self._fallback_s)
        self._watching_all.add(watch)
        try:
            yield watch
        finally:
            self._watching_all.discard(watch)

    async def _listen(self) -> None:
        # Never dies of a failure: waiters poll meanwhile, and it listens again.
        while True:
            async for attempt in retrying():
                with attempt:
                    try:
                        await self._listen_once()
                    finally:
                        self._listening.clear()

    async def _listen_once(self) -> None:
        conninfo = make_conninfo(self._conninfo, **KEEPALIVES)
        async with await AsyncConnection.connect(conninfo, autocommit=True) as conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
            self._listening.set()
            self._wake_all()  # anything may have changed while no one listened
            async for notice in conn.notifies():
                self._on_notice(notice.payload)

    def _on_notice(self, payload: str) -> None:
        ids = payload.split()
        for execution_id in ids:
            for changed in self._waiters.get(execution_id, ()):
                changed.set()
        for watch in self._watching_all:
            watch.add(ids)

    def _wake_all(self) -> None:
        for waiters in self._waiters.values():
            for changed in waiters:
                changed.set()
        for watch in self._watching_all:
            watch.add(None)


class Watch:
    def __init__(self, changed: asyncio.Event, fallback_s: float) -> None:
        self._changed = changed
        self._fallback_s = fallback_s

    async def next_change(self, within_s: float | None = None) -> None:
        """Returns on a change since the last call, or after the feed's fallback interval
        (or `within_s`, if shorter), whichever comes first."""
        timeout_s = self._fallback_s if within_s is None else min(within_s, self._fallback_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout_s)
        self._changed.clear()


class WatchAll:
    """The ids of executions changed since the last call; `None` when any may have (the
    feed was reconnecting, so notices were lost)."""

    def __init__(self, fallback_s: float) -> None:
        self._fallback_s = fallback_s
        self._ids: set[str] | None = set()
        self._changed = asyncio.Event()

    def add(self, ids: list[str] | None) -> None:
        if ids is None or self._ids is None:
            self._ids = None
        else:
            self._ids.update(ids)
        self._changed.set()

    async def next_changes(self) -> set[str] | None:
        """Waits for a change (or the fallback interval: then the set may be empty)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), self._fallback_s)
        self._changed.clear()
        ids, self._ids = self._ids, set()
        return ids
