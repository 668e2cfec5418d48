"""The lock that keeps projection batches and a read-model swap apart.

Batches take it shared (they do not block each other); a swap takes it exclusively,
so no batch interleaves with the tables changing under it. Keyed by schema, so
deployments sharing a database do not wait for each other.
"""

from psycopg import AsyncConnection

SWAP_LOCK = 7_351_002  # pg advisory lock class; the schema's hash is the object


async def share(conn: AsyncConnection) -> None:
    """In a batch's transaction: the schema of the connection's search_path."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock_shared(%s, hashtext(current_schema()))", (SWAP_LOCK,)
    )


async def exclusive(conn: AsyncConnection, schema: str) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (SWAP_LOCK, schema))
