"""The one place where the projector is wired."""

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from nats.js import JetStreamContext
from psycopg_pool import AsyncConnectionPool

from execflow_contracts import LogChunk, parse_event
from execflow_platform import (
    StreamKeeper,
    changes_channel,
    connect,
    ensure_streams,
    schema_conninfo,
)
from execflow_telemetry.metrics import Watched, watch_consumers

from .consumer import BatchApplier, ProjectionConsumer
from .projections import event_log, executions, logs, notices
from .retired import retire_event_log_consumer
from .settings import ProjectorSettings
from .storable import storable

log = logging.getLogger(__name__)

Parser = Callable[[bytes], Any]


async def watch_lag(settings: ProjectorSettings, js: JetStreamContext, stop: asyncio.Event) -> None:
    """The consumers' lag, for /metrics (when it is served)."""
    if settings.metrics_port is not None:
        topology = settings.topology
        watched = [
            Watched(topology.events_stream, topology.projector_events_consumer),
            Watched(topology.logs_stream, topology.projector_logs_consumer),
        ]
        await watch_consumers(js, watched, stop)


async def serve(settings: ProjectorSettings, stop: asyncio.Event) -> None:
    topology = settings.topology
    conninfo = schema_conninfo(settings.database_url, settings.db_schema)
    nc = await connect(settings.nats_url, "execflow-projector")
    js = nc.jetstream()
    await ensure_streams(js, topology)
    keeper = StreamKeeper(js, topology)
    await keeper.check()
    pool = AsyncConnectionPool(conninfo, min_size=2, max_size=4, open=False)
    await pool.open(wait=True)
    await retire_event_log_consumer(js, pool, topology)

    def consumer(
        name: str, stream: str, subject: str, parse: Parser, appliers: Sequence[BatchApplier]
    ) -> ProjectionConsumer:
        return ProjectionConsumer(
            name,
            js,
            stream,
            subject,
            pool,
            parse,
            appliers,
            topology.dead_letter(name),
            settings.batch_size,
            settings.ack_wait_s,
            keeper,
        )

    announce = notices.announcer(changes_channel(settings.db_schema))
    consumers = [
        # Both read models of events in one transaction: each event parsed once, one position.
        consumer(
            topology.projector_events_consumer,
            topology.events_stream,
            topology.all_events,
            storable(parse_event),
            (executions.apply_batch, event_log.apply_batch, announce),
        ),
        consumer(
            topology.projector_logs_consumer,
            topology.logs_stream,
            topology.all_logs,
            storable(LogChunk.model_validate_json),
            (logs.apply_batch, announce),
        ),
    ]
    log.info("projector ready")
    try:
        await asyncio.gather(
            keeper.run(stop),
            *(c.run(stop) for c in consumers),
            watch_lag(settings, js, stop),
        )
    finally:
        await nc.close()
        await pool.close()
