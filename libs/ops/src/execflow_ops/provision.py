"""Streams and tables, made before the services start: `execflow up` and the tests do
it, as a deployment runs each service's `migrate` once."""

import asyncio

from execflow_api.schema import MIGRATIONS as API
from execflow_catalogue import MIGRATIONS as CATALOGUE
from execflow_contracts import Topology
from execflow_platform import connect, ensure_schema, ensure_streams
from execflow_platform.migrations import migrate
from execflow_projector.schema import MIGRATIONS as READ_MODELS
from execflow_scheduler.schema import MIGRATIONS as SCHEDULER
from execflow_scheduler.settings import SchedulerSettings
from execflow_scheduler.wiring import build_application


async def provision_streams(
    nats_url: str, topology: Topology, stream_budget: int | None = None
) -> None:
    nc = await connect(nats_url, "execflow-provision")
    try:
        await ensure_streams(nc.jetstream(), topology, stream_budget)
    finally:
        await nc.close()


def migrate_all(database_url: str, schema: str) -> list[str]:
    """Every service's tables in `schema` (the event store's too): one pass, one lock."""
    ensure_schema(database_url, schema)
    settings = SchedulerSettings(database_url=database_url, db_schema=schema)
    build_application(settings, create_tables=True).close()
    return migrate(database_url, schema, SCHEDULER, READ_MODELS, CATALOGUE, API)


def provision(
    nats_url: str,
    database_url: str,
    schema: str,
    prefix: str,
    stream_budget: int | None = None,
) -> None:
    asyncio.run(provision_streams(nats_url, Topology(prefix), stream_budget))
    migrate_all(database_url, schema)
