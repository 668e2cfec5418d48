"""A projection's loop: a batch of messages, one transaction with its position, then acks."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from pydantic import ValidationError

from execflow_platform import consume, dead_letter

from . import swap_lock, tracking

log = logging.getLogger(__name__)

RETRY_DELAY_S = 1.0

# Applies a batch of parsed messages to one read model, without reading results.
BatchApplier = Callable[[AsyncConnection, Sequence[Any]], Awaitable[None]]


class ProjectionConsumer:
    """One durable consumer feeding one or more read models, all in one transaction."""

    def __init__(
        self,
        name: str,
        subscription: JetStreamContext.PullSubscription,
        js: JetStreamContext,
        pool: AsyncConnectionPool,
        parse: Callable[[bytes], Any],
        appliers: Sequence[BatchApplier],
        dead_letter_subject: str,
        batch_size: int,
    ) -> None:
        self.name = name
        self._subscription = subscription
        self._js = js
        self._pool = pool
        self._parse = parse
        self._appliers = appliers
        self._dead_letter_subject = dead_letter_subject
        self._batch_size = batch_size

    async def run(self, stop: asyncio.Event) -> None:
        await consume(self._subscription, self._batch_size, self.process, stop)

    async def process(self, messages: Sequence[Msg]) -> None:
        parsed: list[tuple[int, Any]] = []
        for message in messages:
            try:
                parsed.append((message.metadata.sequence.stream, self._parse(message.data)))
            except ValidationError as exc:
                await dead_letter(self._js, self._dead_letter_subject, message, str(exc))
        try:
            await self._project(parsed)
        except Exception:
            log.exception("%s: batch of %d failed; will be redelivered", self.name, len(parsed))
            for message in messages:
                await message.nak(delay=RETRY_DELAY_S)
            return
        for message in messages:
            await message.ack()

    async def _project(self, parsed: Sequence[tuple[int, Any]]) -> None:
        # Pipelined: nothing waits for the server but the reads (the position, and what
        # the appliers read at their start) and the commit.
        async with self._pool.connection() as conn, conn.pipeline(), conn.transaction():
            await swap_lock.share(conn)  # a rebuild's swap waits for this batch, or it for the swap
            done = await tracking.position(conn, self.name)
            # Applied in an earlier transaction, and redelivered since: skipped.
            fresh = [(sequence, item) for sequence, item in parsed if sequence > done]
            if not fresh:
                return
            items = [item for _, item in fresh]
            for apply in self._appliers:
                await apply(conn, items)
            await tracking.advance(conn, self.name, max(sequence for sequence, _ in fresh))
