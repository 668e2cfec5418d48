"""Log lines, from log chunks. A line's key is its step attempt, delivery and sequence number."""

from collections.abc import Sequence

from psycopg import AsyncConnection

from execflow_contracts import LogChunk


async def apply_batch(conn: AsyncConnection, chunks: Sequence[LogChunk]) -> None:
    rows = [
        (c.execution_id, c.step_id, c.attempt, c.delivery, ln.seq, ln.stream, ln.at, ln.text)
        for c in chunks
        for ln in c.lines
    ]
    if not rows:
        return
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO log_lines (execution_id, step_id, attempt, delivery, seq, stream, at,"
            " line) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            rows,
        )
