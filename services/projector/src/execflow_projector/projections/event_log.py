"""Every event of every execution, in its public shape: the audit trail and the
source of the live event streams.

Keyed by (execution, version), so a redelivered or re-published event is a no-op.
"""

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from execflow_contracts import AnyEvent


async def apply(conn: AsyncConnection, event: AnyEvent) -> None:
    await conn.execute(
        "INSERT INTO event_log (execution_id, version, type, at, body)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (
            event.execution_id,
            event.version,
            event.type,
            event.at,
            Jsonb(event.model_dump(mode="json")),
        ),
    )
