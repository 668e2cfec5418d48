"""A projection's loop: its stream read from the position stored with its data, each
batch applied in one transaction with the new position, then settled with one ack.

The stored position, not the bus's delivery state, says what comes next. At start the
consumer is re-created to begin right after it; a batch that fails is retried in place,
so later messages never overtake it; and a batch that does not follow the one before
(messages lost on the way, say in a reconnect) makes the consumer start over from the
position. Otherwise a batch redelivered after later ones were applied would be taken
for applied, and its events would never reach the read models.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import psycopg
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from pydantic import ValidationError

from execflow_platform import (
    StreamKeeper,
    dead_letter,
    fetch,
    pull_subscription,
    resuming_pull_consumer,
    retrying,
)

from . import swap_lock, tracking
from .observing import BatchTimer

log = logging.getLogger(__name__)


# Applies a batch of parsed messages to one read model, without reading results.
BatchApplier = Callable[[AsyncConnection, Sequence[Any]], Awaitable[None]]


class Gap(Exception):
    """A batch begins after the message that should come next."""


class ProjectionConsumer:
    """One durable consumer feeding one or more read models, all in one transaction."""

    def __init__(
        self,
        name: str,
        js: JetStreamContext,
        stream: str,
        subject: str,
        pool: AsyncConnectionPool,
        parse: Callable[[bytes], Any],
        appliers: Sequence[BatchApplier],
        dead_letter_subject: str,
        batch_size: int,
        ack_wait_s: float,
        keeper: StreamKeeper,
    ) -> None:
        self.name = name
        self.keeper = keeper
        self._generation = keeper.generation
        self._js = js
        self._stream = stream
        self._subject = subject
        self._pool = pool
        self._parse = parse
        self._appliers = appliers
        self._dead_letter_subject = dead_letter_subject
        self._batch_size = batch_size
        self._ack_wait_s = ack_wait_s
        self._next: int | None = None  # the stream sequence the next batch begins at

    async def run(self, stop: asyncio.Event) -> None:
        """Read until `stop`; a failure (the bus or the database away) is logged and
        reading starts again from the stored position, with backoff while it goes on."""
        while not stop.is_set():
            try:
                async for attempt in retrying(stop=stop):
                    with attempt:
                        await self._read(stop)
            except Exception:  # only once stopping
                log.exception("%s: reading its stream failed while stopping", self.name)

    async def _read(self, stop: asyncio.Event) -> None:
        subscription = await self._subscribe()
        try:
            while not stop.is_set() and self.keeper.generation == self._generation:
                messages = await fetch(subscription, self._batch_size)
                if messages:
                    await self.process(messages, stop)
        except Gap as gap:
            log.warning("%s: %s; reading again from its position", self.name, gap)
        except Exception:
            log.exception("%s: reading its stream failed; reading again", self.name)
            raise
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        self._generation = self.keeper.generation
        async with self._pool.connection() as conn, conn.transaction():
            created = self.keeper.created(self._stream)
            if await tracking.follow_stream(conn, self.name, created):
                log.warning("%s: its stream was made anew; reading it from the start", self.name)
            done = await tracking.position(conn, self.name)
        with contextlib.suppress(NotFoundError):
            await self._js.delete_consumer(self._stream, self.name)
        self._next = None  # the first batch begins wherever the stream has messages
        config = resuming_pull_consumer(self.name, self._subject, done + 1, self._ack_wait_s)
        return await pull_subscription(self._js, self._stream, config)

    async def process(self, messages: Sequence[Msg], stop: asyncio.Event) -> None:
        first = messages[0].metadata.sequence.stream
        if self._next is not None and first > self._next:
            raise Gap(f"a batch begins at {first}, but {self._next} has not come")
        parsed: list[tuple[int, Any]] = []
        by_sequence: dict[int, Msg] = {}
        settled: Msg | None = None  # the last message the batch's ack settles
        for message in messages:
            try:
                sequence = message.metadata.sequence.stream
                parsed.append((sequence, self._parse(message.data)))
                by_sequence[sequence] = message
                settled = message
            except ValidationError as exc:
                await dead_letter(self._js, self._dead_letter_subject, message, str(exc))
        timer = BatchTimer()
        # Until it applies; when stopping, the failure is raised and the batch left
        # unacknowledged: the next start reads it again from the position.
        async for attempt in retrying(stop=stop):
            with attempt:
                await self._apply_or_isolate(parsed, by_sequence)
        timer.applied(self.name, messages, [item for _, item in parsed])
        self._next = max(self._next or 0, messages[-1].metadata.sequence.stream + 1)
        if settled is not None:
            await settled.ack()  # acks every message before it too

    async def _apply_or_isolate(
        self, parsed: Sequence[tuple[int, Any]], messages: dict[int, Msg]
    ) -> None:
        """Apply the batch; if the database refuses it (not: cannot be reached), apply
        its halves apart, down to the one message it refuses, which goes to the dead
        letters with the reason while the others apply. A poison message holds up no
        one; a database away holds up everything, and is tried again."""
        try:
            await self._project(parsed)
            return
        except Exception as exc:
            if transient(exc) or not parsed:
                log.exception("%s: batch of %d failed", self.name, len(parsed))
                raise
            if len(parsed) == 1:
                sequence = parsed[0][0]
                await dead_letter(
                    self._js, self._dead_letter_subject, messages[sequence], f"{exc!r}"
                )
                await self._pass_over(sequence)
                return
            log.warning("%s: batch of %d refused (%r): split", self.name, len(parsed), exc)
        middle = len(parsed) // 2
        await self._apply_or_isolate(parsed[:middle], messages)
        await self._apply_or_isolate(parsed[middle:], messages)

    async def _pass_over(self, sequence: int) -> None:
        """Move the position past a message sent to the dead letters."""
        async with self._pool.connection() as conn, conn.transaction():
            if sequence > await tracking.position(conn, self.name):
                await tracking.advance(conn, self.name, sequence)

    async def _project(self, parsed: Sequence[tuple[int, Any]]) -> None:
        if not parsed:
            return
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


def transient(exc: BaseException) -> bool:
    """A failure that says nothing of the messages: the database (or the way to it) is
    away, busy or restarting. Anything else is the data's."""
    return isinstance(
        exc,
        psycopg.OperationalError | psycopg.InterfaceError | PoolTimeout | OSError | TimeoutError,
    ) or (isinstance(exc, psycopg.Error) and (exc.sqlstate or "").startswith(("08", "53", "57")))
