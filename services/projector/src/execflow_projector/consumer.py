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


class ProjectionConsumer:
    def __init__(
        self,
        name: str,
        subscription: JetStreamContext.PullSubscription,
        js: JetStreamContext,
        pool: AsyncConnectionPool,
        parse: Callable[[bytes], Any],
        apply: Callable[[AsyncConnection, Any], Awaitable[None]],
        dead_letter_subject: str,
        batch_size: int,
    ) -> None:
        self.name = name
        self._subscription = subscription
        self._js = js
        self._pool = pool
        self._parse = parse
        self._apply = apply
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
        async with self._pool.connection() as conn, conn.transaction():
            await swap_lock.share(conn)  # a rebuild's swap waits for this batch, or it for the swap
            done = await tracking.position(conn, self.name)
            last = done
            # Pipelined: statements whose results are not read go out without waiting.
            async with conn.pipeline():
                for sequence, item in parsed:
                    if sequence <= done:
                        continue  # applied in an earlier transaction, redelivered since
                    await self._apply(conn, item)
                    last = max(last, sequence)
                if last > done:
                    await tracking.advance(conn, self.name, last)
