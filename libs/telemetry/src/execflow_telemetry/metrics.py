"""Metrics in Prometheus's format (prometheus-client), and what every service shares.

Each service declares its own in its `metrics` module; this one has the bus's. The api
serves `/metrics` on its own port; the others on `EXECFLOW_METRICS_PORT` (unset: no
server; 0: a free port, logged). Counting costs a lock and an add: it is always on.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

import nats.errors
from nats.js import JetStreamContext
from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

PUBLISH_SECONDS = Histogram(
    "execflow_publish_seconds",
    "From publishing a batch of messages (or one report or log chunk) to the stream's ack",
    buckets=LATENCY_BUCKETS,
)
# Unlabelled, so that it shows (as 0) before the first: its log line names the source.
DEAD_LETTERS = Counter("execflow_dead_letters", "Messages this process parked in the dead letters")
CONSUMER_PENDING = Gauge(
    "execflow_consumer_pending_messages",
    "Messages of a durable consumer's stream not yet delivered to it (its lag)",
    ["stream", "consumer"],
)
CONSUMER_ACK_PENDING = Gauge(
    "execflow_consumer_ack_pending_messages",
    "Messages delivered to a durable consumer and not yet acknowledged",
    ["stream", "consumer"],
)
CONSUMER_REDELIVERED = Gauge(
    "execflow_consumer_redelivered_messages",
    "Messages a durable consumer has had delivered more than once, still unacknowledged",
    ["stream", "consumer"],
)


def serve_metrics(port: int | None, host: str) -> WSGIServer | None:
    """Serve `/metrics` on `port` (0: a free one) in a thread; None if `port` is None."""
    if port is None:
        return None
    server, _ = start_http_server(port, host)
    log.info("metrics on http://%s:%d/metrics", host, server.server_port)
    return server


@dataclass(frozen=True)
class Watched:
    stream: str
    consumer: str


# (consumer, pending, ack pending)
WatchHook = Callable[[Watched, int, int], None]


async def watch_consumers(
    js: JetStreamContext,
    consumers: Sequence[Watched],
    stop: asyncio.Event,
    every_s: float = 5.0,
    on_read: WatchHook | None = None,
) -> None:
    """Read each consumer's lag from JetStream every `every_s` until `stop`; `on_read`
    derives more from the numbers (a runner: its queue's work waiting and leased)."""
    while not stop.is_set():
        for watched in consumers:
            await _read(js, watched, on_read)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)


async def _read(js: JetStreamContext, watched: Watched, on_read: WatchHook | None) -> None:
    try:
        info = await asyncio.wait_for(js.consumer_info(watched.stream, watched.consumer), 2.0)
    except (TimeoutError, nats.errors.Error) as exc:
        log.debug("no lag of %s/%s: %r", watched.stream, watched.consumer, exc)
        return
    labels = (watched.stream, watched.consumer)
    CONSUMER_PENDING.labels(*labels).set(info.num_pending or 0)
    CONSUMER_ACK_PENDING.labels(*labels).set(info.num_ack_pending or 0)
    CONSUMER_REDELIVERED.labels(*labels).set(info.num_redelivered or 0)
    if on_read is not None:
        on_read(watched, info.num_pending or 0, info.num_ack_pending or 0)
