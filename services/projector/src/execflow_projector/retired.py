"""The event log's own durable consumer, from before the event log joined the events
consumer (one transaction per batch for both read models, each event parsed once).

A deployment that ran it may have it still, with its position: the event log holds the
events up to that position, the executions up to theirs, and the events consumer goes
on from the latter. So at start the event log is first filled from the stream up to
there (a gap is a few events, a batch in flight when the old projector stopped; a
redelivered one is a no-op by its key), then the old consumer and its position go.
Each chunk is saved with the old position, so a crash meanwhile resumes where it was.
"""

import contextlib
import logging

from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError
from psycopg_pool import AsyncConnectionPool
from pydantic import ValidationError

from execflow_contracts import AnyEvent, Topology, parse_event

from . import swap_lock, tracking
from .projections import event_log
from .storable import storable

log = logging.getLogger(__name__)

parse_storable_event = storable(parse_event)

CHUNK = 256


async def retire_event_log_consumer(
    js: JetStreamContext, pool: AsyncConnectionPool, topology: Topology
) -> None:
    old, stream = topology.projector_event_log_consumer, topology.events_stream
    async with pool.connection() as conn:
        positioned = await tracking.recorded(conn, old)
    durable = await exists(js, stream, old)
    if not positioned and not durable:
        return  # a new deployment, or retired before
    filled = 0
    while added := await fill_chunk(js, pool, topology):
        filled += added
    if durable:
        with contextlib.suppress(NotFoundError):  # another projector got there first
            await js.delete_consumer(stream, old)
    async with pool.connection() as conn:
        await tracking.forget(conn, old)
    log.info("retired consumer %s (%d events filled into the event log)", old, filled)


async def exists(js: JetStreamContext, stream: str, consumer: str) -> bool:
    try:
        await js.consumer_info(stream, consumer)
    except NotFoundError:
        return False
    return True


async def fill_chunk(js: JetStreamContext, pool: AsyncConnectionPool, topology: Topology) -> int:
    """Up to CHUNK messages after the old position, up to the events consumer's, into the
    event log; how many there were."""
    old = topology.projector_event_log_consumer
    async with pool.connection() as conn, conn.transaction():
        await swap_lock.share(conn)
        after = await tracking.position(conn, old)
        upto = await tracking.position(conn, topology.projector_events_consumer)
        messages = await stored(js, topology, after, upto)
        if not messages:
            return 0
        await event_log.apply_batch(conn, [e for m in messages if (e := parsed(m)) is not None])
        await tracking.advance(conn, old, messages[-1].seq or upto)
        return len(messages)


async def stored(
    js: JetStreamContext, topology: Topology, after: int, upto: int
) -> list[RawStreamMsg]:
    """The events stream's messages with sequences in (after, upto], at most CHUNK."""
    messages: list[RawStreamMsg] = []
    sequence = after + 1
    while sequence <= upto and len(messages) < CHUNK:
        try:
            message = await js.get_msg(
                topology.events_stream, seq=sequence, subject=topology.all_events, next=True
            )
        except NotFoundError:
            break  # nothing stored from there on
        if message.seq is None or message.seq > upto:
            break
        messages.append(message)
        sequence = message.seq + 1
    return messages


def parsed(message: RawStreamMsg) -> AnyEvent | None:
    try:
        return parse_storable_event(message.data or b"")
    except ValidationError:
        return None  # dead-lettered when it was first delivered
