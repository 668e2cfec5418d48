"""Log lines, from log chunks. A line's key is its step attempt, delivery and sequence number."""

from psycopg import AsyncConnection

from execflow_contracts import LogChunk


async def apply(conn: AsyncConnection, chunk: LogChunk) -> None:
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO log_lines (execution_id, step_id, attempt, delivery, seq, stream, at,"
            " line) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [
                (
                    chunk.execution_id,
                    chunk.step_id,
                    chunk.attempt,
                    chunk.delivery,
                    ln.seq,
                    ln.stream,
                    ln.at,
                    ln.text,
                )
                for ln in chunk.lines
            ],
        )
