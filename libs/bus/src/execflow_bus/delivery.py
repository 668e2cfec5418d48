"""Messages sent in order, their acks awaited together, each wait with a deadline.

A report or a log chunk is sent at once and stored by the bus a moment later; its
sender goes on, and waits for every ack only where it must (a step's end, an agent's
request). A publish whose ack does not come within the deadline is sent again under
the same `Nats-Msg-Id` (the bus drops a double), with backoff and jitter, until
`give_up_s` has passed: then `drain` raises, and the caller decides (a runner stops
its step, an API request fails)."""

import asyncio
import time

import nats.errors
import stamina
from nats.js import JetStreamContext

from execflow_telemetry.metrics import PUBLISH_SECONDS

from .bus import Outgoing, publish_one

# How long one publish waits for the bus to store it before sending it again.
ACK_TIMEOUT_S = 5.0
# How long a message is tried, in all, before its sender is told.
GIVE_UP_S = 60.0
RETRIED = (TimeoutError, nats.errors.Error)


class Publisher:
    def __init__(
        self,
        js: JetStreamContext,
        ack_timeout_s: float = ACK_TIMEOUT_S,
        give_up_s: float = GIVE_UP_S,
    ) -> None:
        self._js = js
        self._ack_timeout_s = ack_timeout_s
        self._give_up_s = give_up_s
        self._ordered = asyncio.Lock()
        self._pending: list[asyncio.Task[None]] = []

    def send(self, message: Outgoing) -> None:
        """Publish after the messages sent before it (their order is kept)."""
        self._pending.append(asyncio.ensure_future(self._publish(message)))

    async def drain(self) -> None:
        """Wait until everything sent is stored; raise if something could not be."""
        pending, self._pending = self._pending, []
        if pending:
            await asyncio.gather(*pending)

    async def _publish(self, message: Outgoing) -> None:
        started = time.perf_counter()
        async with self._ordered:
            stored = await self._published(message)
        await self._acked(message, stored)
        PUBLISH_SECONDS.observe(time.perf_counter() - started)

    async def _published(self, message: Outgoing) -> "asyncio.Future[object]":
        async for attempt in stamina.retry_context(
            on=RETRIED, attempts=None, timeout=self._give_up_s
        ):
            with attempt:
                return await asyncio.wait_for(publish_one(self._js, message), self._ack_timeout_s)
        raise AssertionError("unreachable")

    async def _acked(self, message: Outgoing, stored: "asyncio.Future[object]") -> None:
        """The ack of the first publish, or else of publishing again (same message id)."""
        try:
            await asyncio.wait_for(stored, self._ack_timeout_s)
            return
        except RETRIED:
            pass
        async for attempt in stamina.retry_context(
            on=RETRIED, attempts=None, timeout=self._give_up_s
        ):
            with attempt:
                again = await asyncio.wait_for(publish_one(self._js, message), self._ack_timeout_s)
                await asyncio.wait_for(again, self._ack_timeout_s)
