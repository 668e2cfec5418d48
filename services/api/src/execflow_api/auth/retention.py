"""A namespace's default retention: the `ttl.delete_after` of an execution whose
workflow sets none, applied when it is created (a later change of the namespace's
retention applies to executions created after it). Read from the namespaces table and
remembered a little while, so a create does not pay a query."""

import time

from psycopg_pool import AsyncConnectionPool

from execflow_contracts import CreateExecution, Ttl

REMEMBERED_S = 30.0
_known: dict[str, tuple[float | None, float]] = {}


async def retention_of(pool: AsyncConnectionPool, namespace: str) -> float | None:
    known = _known.get(namespace)
    if known is not None and known[1] > time.monotonic():
        return known[0]
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT retention_s FROM namespaces WHERE name = %s", (namespace,)
        )
        row = await cursor.fetchone()
    retention = row[0] if row is not None else None
    _known[namespace] = (retention, time.monotonic() + REMEMBERED_S)
    return retention


async def with_retention(
    pool: AsyncConnectionPool, command: CreateExecution, namespace: str
) -> CreateExecution:
    # The API resolves a registered workflow before it sends the command: the spec is here.
    if command.spec.ttl.delete_after is not None:
        return command
    retention = await retention_of(pool, namespace)
    if retention is None:
        return command
    workflow = command.spec.model_copy(update={"ttl": Ttl(delete_after=retention)})
    return command.model_copy(update={"workflow": workflow})
