"""Fires schedules: each due fire becomes a CreateExecution of the registered workflow.

Durable without a timer of its own: the schedule row is locked, the commands are
published, and `next_fire_at` moves on in the same transaction. A crash before the
commit fires the same times again, but a fire's execution id is derived from
(schedule, fire time), so the bus (`Nats-Msg-Id`) and the scheduler (an existing
execution is not created twice) drop the double.
"""

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from nats.js import JetStreamContext
from psycopg import AsyncConnection

from execflow_catalogue import catalog, schedules
from execflow_contracts import CreateExecution, ExecflowError, Topology
from execflow_platform import command_message, publish_all
from execflow_workflows import plan

log = logging.getLogger(__name__)


def fire_id(schedule_id: uuid.UUID, at: datetime) -> uuid.UUID:
    return uuid.uuid5(schedule_id, at.astimezone(UTC).isoformat())


class ScheduleLoop:
    def __init__(
        self,
        conninfo: str,
        js: JetStreamContext,
        topology: Topology,
        grace_s: float,
        max_command_bytes: int,
        tick_s: float = 0.25,
    ) -> None:
        self._conninfo = conninfo
        self._js = js
        self._topology = topology
        self._grace_s = grace_s
        self._max_command_bytes = max_command_bytes
        self._tick_s = tick_s

    async def run(self, stop: asyncio.Event) -> None:
        conn: AsyncConnection | None = None
        try:
            while not stop.is_set():
                try:
                    if conn is None or conn.closed or conn.broken:  # the database restarted
                        conn = await AsyncConnection.connect(
                            self._conninfo, autocommit=True, connect_timeout=5
                        )
                    await self.fire_due(conn)
                except Exception:
                    log.exception("firing schedules failed; trying again")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._tick_s)
        finally:
            if conn is not None:
                await conn.close()

    async def fire_due(self, conn: AsyncConnection) -> None:
        now = datetime.now(UTC)
        async with conn.transaction():
            for row in await schedules.due(conn, now):
                fires, following = plan(
                    schedules.rhythm_of(row),
                    row["next_fire_at"],
                    now,
                    self._grace_s,
                    row["catchup"],
                )
                commands, error = await self._commands(conn, row, fires)
                messages = [command_message(self._topology, c) for c in commands]
                largest = max((len(m.payload) for m in messages), default=0)
                if largest > self._max_command_bytes:
                    # Unsendable: said on the schedule, and the others still fire.
                    commands, messages = [], []
                    error = (
                        f"its execution takes {largest} bytes as a command;"
                        f" at most {self._max_command_bytes} fit"
                    )
                await publish_all(self._js, messages)
                fired = [t for t, _ in zip(fires, commands, strict=False)]
                await schedules.advance(conn, row["id"], following, fired, error)
                if fires:
                    log.info("schedule %s fired %d (%s)", row["id"], len(commands), error or "ok")

    async def _commands(
        self, conn: AsyncConnection, row: dict[str, Any], fires: list[datetime]
    ) -> tuple[list[CreateExecution], str | None]:
        """The executions to start, or why none can (e.g. the input no longer fits)."""
        if not fires:
            return [], None
        try:
            registered = await catalog.get(
                conn, row["namespace"], row["workflow_id"], row["version"]
            )
            return [
                registered.execution(
                    fire_id(row["id"], at),
                    row["input"],
                    row["metadata"]
                    | {"schedule_id": str(row["id"]), "scheduled_for": at.isoformat()},
                    row["priority"],
                    actor=f"schedule:{row['id']}",
                )
                for at in fires
            ], None
        except (ExecflowError, ValueError) as exc:  # ValueError: stored values no longer valid
            log.warning("schedule %s cannot fire: %s", row["id"], exc)
            return [], str(exc)
