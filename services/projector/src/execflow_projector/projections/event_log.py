"""Every event of every execution, in its public shape: the audit trail and the
source of the live event streams.

Keyed by (execution, version), so a redelivered or re-published event is a no-op.
"""

from collections.abc import Sequence

from psycopg import AsyncConnection

from execflow_contracts import AnyEvent, ExecutionExpired

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
    # An execution that expires in this batch keeps no event here (its rows were deleted
    # with its other read models, executions.expired).
    gone = {e.execution_id for e in events if isinstance(e, ExecutionExpired)}
    events = [e for e in events if e.execution_id not in gone]
    await INSERT.run(
        conn,
        # pydantic writes the JSON itself, faster than dumping a dict of it in Python.
        [(e.execution_id, e.version, e.type, e.at, e.model_dump_json()) for e in events],
    )
