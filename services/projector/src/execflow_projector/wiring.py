"""The one place where the projector is wired."""

import asyncio
import logging

from psycopg_pool import AsyncConnectionPool

from execflow_contracts import LogChunk, parse_event
from execflow_platform import (
    connect,
    durable_pull_consumer,
    ensure_schema,
    ensure_streams,
    pull_subscription,
    schema_conninfo,
)

from .consumer import ProjectionConsumer
from .projections import executions, logs
from .schema import migrate
from .settings import ProjectorSettings

log = logging.getLogger(__name__)


async def serve(settings: ProjectorSettings, stop: asyncio.Event) -> None:
    topology = settings.topology
    conninfo = schema_conninfo(settings.database_url, settings.db_schema)
    await asyncio.to_thread(ensure_schema, settings.database_url, settings.db_schema)
    await asyncio.to_thread(migrate, conninfo)
    nc = await connect(settings.nats_url, "execflow-projector")
    js = nc.jetstream()
    await ensure_streams(js, topology)
    pool = AsyncConnectionPool(conninfo, min_size=2, max_size=4, open=False)
    await pool.open(wait=True)
    consumers = [
        ProjectionConsumer(
            topology.projector_events_consumer,
            await pull_subscription(
                js,
                topology.events_stream,
                durable_pull_consumer(
                    topology.projector_events_consumer, topology.all_events, settings.ack_wait_s
                ),
            ),
            js,
            pool,
            parse_event,
            executions.apply,
            topology.dead_letter("projector-events"),
            settings.batch_size,
        ),
        ProjectionConsumer(
            topology.projector_logs_consumer,
            await pull_subscription(
                js,
                topology.logs_stream,
                durable_pull_consumer(
                    topology.projector_logs_consumer, topology.all_logs, settings.ack_wait_s
                ),
            ),
            js,
            pool,
            LogChunk.model_validate_json,
            logs.apply,
            topology.dead_letter("projector-logs"),
            settings.batch_size,
        ),
    ]
    log.info("projector ready")
    try:
        await asyncio.gather(*(c.run(stop) for c in consumers))
    finally:
        await nc.close()
        await pool.close()
