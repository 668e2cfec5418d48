"""One scheduler writes an event store at a time; another started beside it stands by.

The event store's inserts skip the library's table lock (see wiring), and the relay
publishes notifications in id order: two writers at once could commit ids out of order
and leave an event unpublished. So a scheduler serves only while it holds a PostgreSQL
advisory lock on its schema, on a connection of its own. A second one waits for the
lock and takes over when the first one's connection ends (it stopped, or died: the
server ends a dead client's session, after its TCP keepalives when it is remote).
A holder that loses its connection can no longer tell that it is alone, so it stops.
"""

import asyncio
import contextlib
import logging
import os

import psycopg
from psycopg import sql

from execflow_platform.locks import SCHEDULER_WRITER

log = logging.getLogger(__name__)

# The lock session's application_name: this, then the holder's process id.
HOLDER = "execflow-scheduler:"

# How soon the server ends the session of a remote holder that went silent: ~11 s.
SERVER_KEEPALIVES = {
    "tcp_keepalives_idle": 5,
    "tcp_keepalives_interval": 2,
    "tcp_keepalives_count": 3,
}


class WriterLockLost(RuntimeError):
    """The lock's connection ended while this scheduler was serving."""


class WriterLock:
    def __init__(
        self,
        conninfo: str,
        schema: str,
        takeover_s: float = 15.0,
        retry_every_s: float = 0.5,
        check_every_s: float = 1.0,
        check_timeout_s: float = 5.0,
    ) -> None:
        self._conninfo = conninfo
        self._schema = schema
        # A holder whose session says nothing for this long (a paused process) has it
        # ended by the server: its lock goes to a standby. It checks every second.
        self._takeover_s = max(takeover_s, 3 * check_every_s)
        # Moved on by each holder; its inserts are fenced by it (see `epoch`).
        self.epoch: int | None = None
        self._retry_every_s = retry_every_s
        self._check_every_s = check_every_s
        # A server that does not answer a check in time may have dropped the session.
        self._check_timeout_s = check_timeout_s
        self._conn: psycopg.AsyncConnection | None = None

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Wait until this scheduler holds the lock (True), or `stop` is set (False)."""
        standing_by = False
        while not stop.is_set():
            try:
                if await self._try():
                    if standing_by:
                        log.warning("the other scheduler is gone: this one takes over")
                    return True
                if not standing_by:
                    log.warning(
                        "another scheduler is serving schema %r: standing by until it stops",
                        self._schema,
                    )
                    standing_by = True
            except psycopg.OperationalError as exc:
                log.warning("cannot reach PostgreSQL for the writer lock: %s", exc)
                await self.release()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._retry_every_s)
        return False

    async def hold(self, stop: asyncio.Event) -> None:
        """Check the lock's connection until `stop`; raise WriterLockLost if it ended, or
        if the server does not answer in time (it may have dropped the session)."""
        conn = self._conn
        assert conn is not None, "acquire first"
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._check_every_s)
            # Not cancelled on a timeout: cancelling a query waits for the server.
            check = asyncio.ensure_future(conn.execute("SELECT 1"))
            done, _ = await asyncio.wait({check}, timeout=self._check_timeout_s)
            failure: BaseException | None
            if done:
                failure = check.exception()
            else:
                # Left to fail once the session is closed below; its error is known.
                check.add_done_callback(lambda task: task.cancelled() or task.exception())
                failure = TimeoutError(f"no answer in {self._check_timeout_s} s")
            if failure is not None:
                await self.release()
                raise WriterLockLost(
                    f"the writer lock's connection to PostgreSQL failed ({failure!r});"
                    " another scheduler may take over, so this one stops"
                ) from failure

    async def release(self) -> None:
        """Closing the session releases its lock."""
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                await self._conn.close()
            self._conn = None

    async def _try(self) -> bool:
        if self._conn is None:
            # Named, so that an operator (or the chaos run) can tell which process holds it.
            self._conn = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, application_name=f"{HOLDER}{os.getpid()}"
            )
            settings = SERVER_KEEPALIVES | {"idle_session_timeout": int(self._takeover_s * 1000)}
            for name, value in settings.items():
                await self._conn.execute(f"SET {name} = {value}")
        cursor = await self._conn.execute(
            "SELECT pg_try_advisory_lock(%s, hashtext(%s))", (SCHEDULER_WRITER, self._schema)
        )
        row = await cursor.fetchone()
        if not (row and row[0]):
            return False
        self.epoch = await self._next_epoch()
        return True

    async def _next_epoch(self) -> int:
        """Move the writer's epoch on: inserts of the writer before are refused from now
        (the update waits for one of theirs that is under way)."""
        assert self._conn is not None
        cursor = await self._conn.execute(
            sql.SQL(
                "UPDATE {}.writer_epoch SET epoch = epoch + 1 WHERE name = 'events' RETURNING epoch"
            ).format(sql.Identifier(self._schema))
        )
        row = await cursor.fetchone()
        assert row is not None, "writer_epoch has no row: run `execflow-scheduler migrate`"
        return int(row[0])
