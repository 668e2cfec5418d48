"""Log lines, from log chunks. A line's key is its step attempt, delivery and sequence number."""

from collections.abc import Sequence

from psycopg import AsyncConnection

from execflow_contracts import LogChunk

from .bulk import RowsInsert

INSERT = RowsInsert(
    "log_lines",
    [
        ("execution_id", "uuid"),
        ("step_id", "text"),
        ("attempt", "integer"),
        ("delivery", "integer"),
        ("seq", "integer"),
        ("stream", "text"),
        ("at", "timestamptz"),
        ("line", "text"),
    ],
    "ON CONFLICT DO NOTHING",
)


async def apply_batch(conn: AsyncConnection, chunks: Sequence[LogChunk]) -> None:
    await INSERT.run(
        conn,
        [
            (c.execution_id, c.step_id, c.attempt, c.delivery, ln.seq, ln.stream, ln.at, ln.text)
            for c in chunks
            for ln in c.lines
        ],
    )
