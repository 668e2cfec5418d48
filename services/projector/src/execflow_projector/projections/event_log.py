"""Every event of every execution, in its public shape: the audit trail and the
source of the live event streams.

Keyed by (execution, version), so a redelivered or re-published event is a no-op.
"""

from collections.abc import Sequence

from psycopg import AsyncConnection

from execflow_contracts import AnyEvent

from .bulk import RowsInsert

INSERT = RowsInsert(
    "event_log",
    [
        ("execution_id", "uuid"),
        ("version", "integer"),
        ("type", "text"),
        ("at", "timestamptz"),
        ("body", "jsonb"),
    ],
    "ON CONFLICT DO NOTHING",
)


async def apply_batch(conn: AsyncConnection, events: Sequence[AnyEvent]) -> None:
    await INSERT.run(
        conn,
        # pydantic writes the JSON itself, faster than dumping a dict of it in Python.
        [(e.execution_id, e.version, e.type, e.at, e.model_dump_json()) for e in events],
    )
