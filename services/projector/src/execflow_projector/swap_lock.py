"""The lock that keeps projection batches and a read-model swap apart.

Batches take it shared (they do not block each other); a swap takes it exclusively,
so no batch interleaves with the tables changing under it. Keyed by schema, so
deployments sharing a database do not wait for each other.
"""

from psycopg import AsyncConnection

from execflow_platform.locks import PROJECTION_SWAP


async def share(conn: AsyncConnection) -> None:
    """In a batch's transaction: the schema of the connection's search_path."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock_shared(%s, hashtext(current_schema()))", (PROJECTION_SWAP,)
    )


async def exclusive(conn: AsyncConnection, schema: str) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (PROJECTION_SWAP, schema))
