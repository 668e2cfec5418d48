"""Holds back work beyond queue limits and concurrency limits; releases the highest
priority first.

Every dispatched step is tracked in `work_slots`, derived from events by the relay
before it moves past them (as timers are), so a restart forgets nothing. Work that
may go ahead at once is published by the relay as before; the rest waits here, and
the release pass publishes it when a slot frees: ordered by priority, then by age.
A slot is taken from release until the attempt's last event (succeeded, failed,
cancelled); a concurrency gate from an execution's first release until it ends.
Publishing happens before the commit: a crash publishes again under the same
`Nats-Msg-Id`, which the bus drops.
"""

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from nats.js import JetStreamContext
from opentelemetry.trace import SpanKind
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from execflow_catalogue import queues
from execflow_contracts import (
    ExecutionEvent,
    ExecutionExpired,
    StatusChanged,
    StepCancelled,
    StepDispatched,
    StepFailed,
    StepStopRequested,
    StepSucceeded,
    Topology,
)
from execflow_platform import Outgoing, locks, publish_all
from execflow_telemetry import tracing

from .publishing import work_message

log = logging.getLogger(__name__)

KEEP_FINISHED = "1 hour"
CONNECT_TIMEOUT_S = 5
PURGE_EVERY = 10_000  # release passes


class Dispatcher:
    def __init__(self, conninfo: str, js: JetStreamContext, topology: Topology) -> None:
        self._conninfo = conninfo
        self._js = js
        self._topology = topology
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()  # the one connection
        self._wake = asyncio.Event()
        # By queue key (`name`, `namespace/name`): so too `work_slots.queue`.
        self._limits: dict[str, int] = {}
        self._limits_read: asyncio.Task[dict[str, int]] | None = None
        # Executions with recorded slots or gates. Work nothing limits is not recorded, so
        # an execution outside this set costs the hot path no database statement.
        self._tracked: set[UUID] = set()

    async def start(self) -> None:
        conn = await self._open()
        self._limits = await queues.limits(conn)
        cursor = await conn.execute(
            "SELECT execution_id FROM work_slots WHERE finished_at IS NULL"
            " UNION SELECT execution_id FROM gate_holders"
        )
        self._tracked = {row[0] for row in await cursor.fetchall()}

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()

    async def track(self, events: Sequence[ExecutionEvent]) -> set[str]:
        """Record what the events mean for slots; the dedupe ids of the dispatches whose
        work the relay publishes itself (nothing holds them back)."""
        direct: set[str] = set()
        todo: list[ExecutionEvent] = []
        # Limits set a moment ago apply to this work already: they are read after its
        # batch of commands was fetched (by `read_limits_soon`, or here).
        reading, self._limits_read = self._limits_read, None
        if any(isinstance(e, StepDispatched) for e in events):
            self._limits = await (reading if reading is not None else self._read_limits())
        elif reading is not None:  # not needed: a failure to read is not worth a warning
            reading.add_done_callback(lambda task: task.cancelled() or task.exception())
        for event in events:
            if isinstance(event, StepDispatched):
                if not event.gates and event.queue_key not in self._limits:
                    direct.add(event.dedupe_id)
                    continue
                self._tracked.add(event.execution_id)
            elif event.execution_id not in self._tracked:
                continue
            todo.append(event)
        if not todo:
            return direct
        async with self._lock, (await self._open()).transaction():
            for event in todo:
                if isinstance(event, StepDispatched):
                    await self._record(event, released=False)
                    self._wake.set()
                elif await self._frees(event):
                    self._wake.set()
        return direct

    def unlimited(self, dispatches: Sequence[StepDispatched]) -> set[str]:
        """The dedupe ids of the dispatches nothing holds back: the relay publishes
        their work itself."""
        return {
            event.dedupe_id
            for event in dispatches
            if not event.gates and event.queue_key not in self._limits
        }

    async def release_again(self) -> None:
        """The WORK stream was lost: what was released and has not finished is held
        again, and released (published) again by the next pass, within the limits."""
        async with self._lock:
            await (await self._open()).execute(
                "UPDATE work_slots SET released = false WHERE released AND finished_at IS NULL"
            )
        self._wake.set()

    def read_limits_soon(self) -> None:
        """Start reading the queues' limits for the next `track` (a batch of commands has
        just come), so that publishing its work does not wait for the database."""
        if self._limits_read is None:
            self._limits_read = asyncio.create_task(self._read_limits())

    async def _read_limits(self) -> dict[str, int]:
        async with self._lock:
            return await queues.limits(await self._open())

    async def run(self, stop: asyncio.Event, tick_s: float = 0.25) -> None:
        passes = 0
        while not stop.is_set():
            passes += 1
            try:
                await self.release()
                if passes % PURGE_EVERY == 0:
                    await self.purge()
            except Exception:
                log.exception("releasing held work failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), tick_s)
            self._wake.clear()

    async def release(self) -> None:
        """Publish what may run now, highest priority first."""
        async with self._lock:
            conn = await self._open()
            self._limits = await queues.limits(conn)
            async with conn.transaction():
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(%s, hashtext(current_schema()))",
                    (locks.DISPATCH,),
                )
                released = await self._choose(conn)
                if not released:
                    return
                await publish_all(self._js, [held_work(r) for r in released])
                await self._mark_released(conn, released)

    async def _choose(self, conn: AsyncConnection) -> list[dict[str, Any]]:
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "SELECT queue, count(*) AS n FROM work_slots"
                " WHERE released AND finished_at IS NULL GROUP BY queue"
            )
            running: dict[str, int] = {r["queue"]: r["n"] for r in await cur.fetchall()}
            await cur.execute("SELECT gate, execution_id FROM gate_holders")
            holders: defaultdict[str, set[UUID]] = defaultdict(set)
            for r in await cur.fetchall():
                holders[r["gate"]].add(r["execution_id"])
            await cur.execute(
                "SELECT * FROM work_slots WHERE NOT released AND finished_at IS NULL"
                " ORDER BY priority DESC, seq LIMIT 1000"
            )
            waiting = await cur.fetchall()
        chosen = []
        for row in waiting:
            limit = self._limits.get(row["queue"])
            if limit is not None and running.get(row["queue"], 0) >= limit:
                continue
            if any(
                row["execution_id"] not in holders[g["name"]]
                and len(holders[g["name"]]) >= g["max"]
                for g in row["gates"]
            ):
                continue
            chosen.append(row)
            running[row["queue"]] = running.get(row["queue"], 0) + 1
            for gate in row["gates"]:
                holders[gate["name"]].add(row["execution_id"])
        return chosen

    async def _mark_released(self, conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
        async with conn.cursor() as cur:
            await cur.executemany(
                "UPDATE work_slots SET released = true"
                " WHERE execution_id = %s AND step_id = %s AND attempt = %s",
                [(r["execution_id"], r["step_id"], r["attempt"]) for r in rows],
            )
            await cur.executemany(
                "INSERT INTO gate_holders (gate, execution_id) VALUES (%s, %s)"
                " ON CONFLICT DO NOTHING",
                [(g["name"], r["execution_id"]) for r in rows for g in r["gates"]],
            )

    async def _record(self, event: StepDispatched, released: bool) -> None:
        work = work_message(event, self._topology)
        await self._connection().execute(
            "INSERT INTO work_slots (execution_id, step_id, attempt, queue, priority, gates,"
            " subject, payload, msg_id, released, traceparent)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (
                event.execution_id,
                event.step_id,
                event.attempt,
                event.queue_key,
                event.priority,
                Jsonb([g.model_dump() for g in event.gates]),
                work.subject,
                work.payload,
                work.msg_id,
                released,
                event.traceparent,
            ),
        )

    async def _frees(self, event: ExecutionEvent) -> bool:
        """Finish the slots an event ends; True if any slot or gate was freed."""
        conn = self._connection()
        where = "execution_id = %s"
        params: list[Any] = [event.execution_id]
        if isinstance(event, (StepSucceeded, StepFailed)):
            where += " AND step_id = %s AND attempt = %s"
            params += [event.step_id, event.attempt]
        elif isinstance(event, StepCancelled):
            where += " AND step_id = %s"
            params.append(event.step_id)
        elif isinstance(event, StepStopRequested):
            # Work still held never starts; released work ends with its own report.
            where += " AND step_id = %s AND attempt = %s AND NOT released"
            params += [event.step_id, event.attempt]
        elif isinstance(event, ExecutionExpired) or (
            isinstance(event, StatusChanged) and event.to_status.is_terminal
        ):
            # An execution that ended holds no gate, and none of its work may start.
            await conn.execute("DELETE FROM gate_holders WHERE execution_id = %s", params)
            self._tracked.discard(event.execution_id)
        else:
            return False
        cursor = await conn.execute(
            f"UPDATE work_slots SET finished_at = now() WHERE {where} AND finished_at IS NULL",
            params,
        )
        return cursor.rowcount > 0 or isinstance(event, (StatusChanged, ExecutionExpired))

    async def purge(self) -> None:
        async with self._lock:
            await (await self._open()).execute(
                "DELETE FROM work_slots WHERE finished_at < now() - %s::interval", (KEEP_FINISHED,)
            )

    async def _open(self) -> AsyncConnection:
        """The connection, opened again if the last one broke (the database restarted,
        or ended the session): a lost connection does not stop the dispatcher."""
        if self._conn is None or self._conn.closed or self._conn.broken:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    await self._conn.close()
            self._conn = await AsyncConnection.connect(
                self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            )
        return self._conn

    def _connection(self) -> AsyncConnection:
        assert self._conn is not None, "start() opens the connection"
        return self._conn


def held_work(row: dict[str, Any]) -> Outgoing:
    """Held work as it goes out, in the trace of the dispatch that recorded it."""
    headers = tracing.headers(
        tracing.mark(
            f"dispatch {row['step_id']}",
            row["traceparent"],
            SpanKind.PRODUCER,
            {
                "messaging.system": "nats",
                "execflow.execution_id": str(row["execution_id"]),
                "execflow.step_id": row["step_id"],
                "execflow.attempt": row["attempt"],
                "execflow.queue": row["queue"],
            },
        )
    )
    return Outgoing(row["subject"], bytes(row["payload"]), row["msg_id"], headers)
