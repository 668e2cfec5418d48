"""NATS JetStream: connecting, declaring streams, publishing with dedupe ids."""

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError

from execflow_contracts import (
    DLQ_REASON_HEADER,
    DLQ_SOURCE_HEADER,
    MSG_ID_HEADER,
    TRACEPARENT_HEADER,
    Command,
    Topology,
)
from execflow_telemetry.metrics import DEAD_LETTERS, PUBLISH_SECONDS

from .permissions import inbox_prefix
from .pulling import fetch
from .retrying import retrying

log = logging.getLogger(__name__)

DAY = 24 * 3600
GIB = 1024**3
DUPLICATE_WINDOW_S = 10 * 60


# The disk the streams of one deployment may take in all (JetStream reserves it when a
# stream is made), and each stream's share of it.
STREAM_BUDGET_VARIABLE = "EXECFLOW_STREAM_BUDGET_BYTES"
DEFAULT_STREAM_BUDGET = 8 * GIB
SHARES = {"events": 0.4, "logs": 0.4, "commands": 0.08, "work": 0.08, "dlq": 0.03, "adv": 0.01}


def stream_budget() -> int:
    """EXECFLOW_STREAM_BUDGET_BYTES, read when streams are declared: every process of a
    deployment (and `execflow up`, and the tests) must declare them alike."""
    return int(os.environ.get(STREAM_BUDGET_VARIABLE, DEFAULT_STREAM_BUDGET))


def stream_configs(topology: Topology, budget: int | None = None) -> list[StreamConfig]:
    """The streams execflow uses. The event store, not EVENTS, is the source of truth."""
    total = budget or stream_budget()

    def share(name: str) -> int:
        return max(1024 * 1024, int(total * SHARES[name]))

    def stream(
        name: str,
        subject: str,
        retention: RetentionPolicy,
        max_bytes: int,
        max_age: float | None = None,
    ) -> StreamConfig:
        # Every stream is bounded on disk. A queue that is full refuses what comes (its
        # sender is told and tries again later) rather than drop what waits; a stream
        # kept for readers drops its oldest (the event store keeps every event).
        return StreamConfig(
            name=name,
            subjects=[subject],
            retention=retention,
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_S,
            max_age=max_age,
            max_bytes=max_bytes,
            discard=DiscardPolicy.NEW if retention is work else DiscardPolicy.OLD,
        )

    work, kept = RetentionPolicy.WORK_QUEUE, RetentionPolicy.LIMITS
    return [
        stream(topology.commands_stream, topology.all_commands, work, share("commands")),
        stream(topology.events_stream, topology.all_events, kept, share("events"), 30 * DAY),
        stream(topology.work_stream, topology.all_work, work, share("work")),
        stream(topology.logs_stream, topology.all_logs, kept, share("logs"), 30 * DAY),
        stream(topology.dlq_stream, topology.all_dead_letters, kept, share("dlq"), 30 * DAY),
        stream(topology.advisories_stream, topology.work_max_deliveries, kept, share("adv"), DAY),
    ]


async def connect(url: str, name: str) -> Client:
    """A client that reconnects for ever; its replies come to its user's own inboxes."""
    return await nats.connect(
        url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        inbox_prefix=inbox_prefix(url),
    )


async def ensure_streams(
    js: JetStreamContext, topology: Topology, budget: int | None = None
) -> None:
    """Create or update every stream; safe to call from several processes at once."""
    for config in stream_configs(topology, budget):
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)


def durable_pull_consumer(durable: str, subject: str, ack_wait_s: float) -> ConsumerConfig:
    """A durable pull consumer that redelivers what is not acked within `ack_wait_s`."""
    return ConsumerConfig(
        durable_name=durable,
        filter_subject=subject,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ack_wait_s,
        max_deliver=-1,
        max_ack_pending=10_000,
    )


# A step's work is delivered at most this often (its holder died, or lost its lease, each
# time); then JetStream says so (an advisory) and the scheduler fails the attempt as lost.
WORK_MAX_DELIVER = 5


def work_consumer(
    topology: Topology, queue: str, lease_s: float, max_deliver: int = WORK_MAX_DELIVER
) -> ConsumerConfig:
    """The durable consumer every runner (and the API, for its agents) of `queue` shares."""
    config = durable_pull_consumer(topology.runner_consumer(queue), topology.work(queue), lease_s)
    config.max_deliver = max_deliver
    return config


def resuming_pull_consumer(
    durable: str, subject: str, start_sequence: int, ack_wait_s: float
) -> ConsumerConfig:
    """A durable pull consumer for a reader that keeps its own position (a projection):
    it starts at `start_sequence`, and one ack settles a whole batch."""
    return ConsumerConfig(
        durable_name=durable,
        filter_subject=subject,
        ack_policy=AckPolicy.ALL,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=max(start_sequence, 1),
        ack_wait=ack_wait_s,
        max_deliver=-1,
        max_ack_pending=10_000,
    )


async def pull_subscription(
    js: JetStreamContext, stream: str, config: ConsumerConfig, attempts: int = 10
) -> JetStreamContext.PullSubscription:
    """Bind to a durable pull consumer, retrying: consumer creation can time out
    right after a server restart or a cluster node's death."""
    assert config.durable_name and config.filter_subject
    async for attempt in retrying(
        (nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError), attempts
    ):
        with attempt:
            return await js.pull_subscribe(
                config.filter_subject, durable=config.durable_name, stream=stream, config=config
            )
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Outgoing:
    subject: str
    payload: bytes
    msg_id: str
    # Besides its id: the trace context it carries (telemetry.tracing.headers).
    headers: dict[str, str] | None = None


def command_message(
    topology: Topology, command: Command, headers: dict[str, str] | None = None
) -> Outgoing:
    """The one way a command becomes a bus message: its execution's subject, its JSON,
    and its identity as the `Nats-Msg-Id` (so sending it again is harmless)."""
    return Outgoing(
        topology.command(command.execution_id, type(command).__name__),
        command.model_dump_json().encode(),
        command.dedupe_id,
        headers,
    )


# Room for a message's headers (its id, a reply subject) within the server's limit.
HEADERS_ROOM = 1024


def message_limit(nc: Client) -> int:
    """The most bytes a message's body may take on this server's bus."""
    return int(nc.max_payload) - HEADERS_ROOM


# What a command leaves free of a bus message: its events carry what it carries again
# (a create's workflow, input and metadata), with a little more around it.
COMMAND_ROOM = 64 * 1024


def command_limit(nc: Client) -> int:
    """The most bytes a command may take on this server's bus."""
    return int(nc.max_payload) - COMMAND_ROOM


# How long a batch of messages may take to be stored before its publisher is told
# (TimeoutError) and sends it again later: the bus may be restarting.
PUBLISH_DEADLINE_S = 10.0


async def publish_all(
    js: JetStreamContext, messages: Iterable[Outgoing], deadline_s: float = PUBLISH_DEADLINE_S
) -> None:
    """Publish without waiting message by message, then wait for every ack together;
    TimeoutError if they are not all stored within `deadline_s`.

    Each carries `Nats-Msg-Id`, so publishing again after a failure is harmless. Acks
    never awaited are cancelled, which frees their places among nats-py's pending
    publishes (a lost ack would otherwise hold one for ever).
    """
    started = time.perf_counter()
    futures: list[asyncio.Future[Any]] = []
    try:
        async with asyncio.timeout(deadline_s):
            for message in messages:
                futures.append(await publish_one(js, message))
            if futures:
                await asyncio.gather(*futures)
                PUBLISH_SECONDS.observe(time.perf_counter() - started)
    finally:
        for future in futures:
            future.cancel()


async def publish_one(js: JetStreamContext, message: Outgoing) -> "asyncio.Future[Any]":
    """Send one message; the returned future resolves when the stream has stored it."""
    headers = {MSG_ID_HEADER: message.msg_id}
    if message.headers:
        headers.update(message.headers)
    return await js.publish_async(message.subject, message.payload, headers=headers)


async def dead_letter(js: JetStreamContext, subject: str, message: Msg, reason: str) -> None:
    """Park a message that can never succeed, with its reason, and stop its redelivery."""
    log.error("dead-lettering message from %s: %s", message.subject, reason)
    traced = {k: v for k, v in (message.headers or {}).items() if k == TRACEPARENT_HEADER}
    await js.publish(
        subject,
        message.data,
        headers={
            DLQ_REASON_HEADER: reason[:1000].replace("\n", " "),
            DLQ_SOURCE_HEADER: message.subject,
            **traced,
        },
    )
    DEAD_LETTERS.inc()
    await message.term()


async def consume(
    subscription: JetStreamContext.PullSubscription,
    batch_size: int,
    handle: Callable[[list[Msg]], Awaitable[None]],
    stop: asyncio.Event,
    until: Callable[[], bool] = lambda: False,
) -> None:
    """Fetch and handle batches until `stop`. A batch that fails is logged and left
    unacknowledged (it comes back); the loop itself never dies of it, and tries again
    with backoff while the failures go on. It returns when `until()` holds (the
    subscription must be bound again: its stream was made anew)."""
    while not stop.is_set() and not until():
        try:
            async for attempt in retrying(stop=stop):
                with attempt:
                    messages = await fetch(subscription, batch_size)
                    if messages:
                        await handle(messages)
        except Exception:  # only once stopping: until then it is tried again
            log.exception("a batch of %s failed while stopping", subscription)
