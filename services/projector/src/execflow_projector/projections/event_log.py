"""Every event of every execution, in its public shape: the audit trail and the
source of the live event streams.

Keyed by (execution, version), so a redelivered or re-published event is a no-op.
"""

from collections.abc import Sequence

from psycopg import AsyncConnection

from execflow_contracts import AnyEvent


async def apply_batch(conn: AsyncConnection, events: Sequence[AnyEvent]) -> None:
    if not events:
        return
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO event_log (execution_id, version, type, at, body)"
            " VALUES (%s, %s, %s, %s, %s::jsonb) ON CONFLICT DO NOTHING",
            # pydantic writes the JSON itself, faster than dumping a dict of it in Python.
            [(e.execution_id, e.version, e.type, e.at, e.model_dump_json()) for e in events],
        )
