"""Streams and schemas, created once before the services start (each also checks)."""

import asyncio

from execflow_contracts import Topology
from execflow_platform import connect, ensure_streams, schema_conninfo
from execflow_projector import migrate
from execflow_scheduler import SchedulerSettings, build_application
from execflow_workflows import migrate as migrate_catalogue


async def provision_streams(nats_url: str, topology: Topology) -> None:
    nc = await connect(nats_url, "execflow-provision")
    try:
        await ensure_streams(nc.jetstream(), topology)
    finally:
        await nc.close()


def provision(nats_url: str, database_url: str, schema: str, prefix: str) -> None:
    asyncio.run(provision_streams(nats_url, Topology(prefix)))
    settings = SchedulerSettings(
        nats_url=nats_url, database_url=database_url, db_schema=schema, bus_prefix=prefix
    )
    build_application(settings).close()  # creates the event store's tables
    migrate(schema_conninfo(database_url, schema))
    migrate_catalogue(schema_conninfo(database_url, schema))
