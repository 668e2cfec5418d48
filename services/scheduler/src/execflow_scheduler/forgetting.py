"""An expired execution forgotten everywhere the scheduler reaches: its events in the
event store, its timers, held work and gates, and its messages in EVENTS and LOGS.

It runs on a timer (`forget`, set by ExecutionExpired) a little after the expiry was
published: the projector and the runners act on ExecutionExpired (they drop the read
models, the workspace and the artifacts), so that event stays in EVENTS (`keep=1`: the
last message of the execution's subjects) for a projector or runner that reads late; it
holds nothing but the execution's id. What a legal hold keeps never expires (see
`TimerStore.due`)."""

import asyncio
import logging
from datetime import timedelta
from uuid import UUID

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from psycopg import sql
from psycopg_pool import ConnectionPool

from execflow_contracts import Topology

log = logging.getLogger(__name__)

FORGET_TIMER = "forget"
FORGET_DELAY = timedelta(seconds=2)


class Forgetter:
    def __init__(
        self, pool: ConnectionPool, events_table: str, js: JetStreamContext, topology: Topology
    ) -> None:
        self._pool = pool
        self._events_table = events_table
        self._js = js
        self._topology = topology

    async def forget(self, execution_id: UUID) -> None:
        deleted = await asyncio.to_thread(self._delete_rows, execution_id)
        await self._purge(self._topology.events_stream, self._topology.events_of(execution_id), 1)
        await self._purge(self._topology.logs_stream, self._topology.logs_of(execution_id))
        log.info("execution %s expired: %d stored events deleted", execution_id, deleted)

    def _delete_rows(self, execution_id: UUID) -> int:
        with self._pool.connection() as conn:
            cursor = conn.execute(
                sql.SQL("DELETE FROM {} WHERE originator_id = %s").format(
                    sql.Identifier(self._events_table)
                ),
                (execution_id,),
            )
            # The forget timer itself is removed by the timer loop once this is done.
            conn.execute(
                "DELETE FROM timers WHERE execution_id = %s AND name <> %s",
                (execution_id, FORGET_TIMER),
            )
            for table in ("work_slots", "gate_holders"):
                conn.execute(
                    sql.SQL("DELETE FROM {} WHERE execution_id = %s").format(sql.Identifier(table)),
                    (execution_id,),
                )
            return cursor.rowcount

    async def _purge(self, stream: str, subject: str, keep: int | None = None) -> None:
        try:
            await self._js.purge_stream(stream, subject=subject, keep=keep)
        except NotFoundError:
            log.warning("stream %s is gone: nothing of %s to purge there", stream, subject)
