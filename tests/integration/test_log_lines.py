"""Log lines reach their read model in one statement a batch: every line as it was
written (quotes, backslashes, any script), in the order given, and once only however
often a chunk is delivered."""

from datetime import UTC, datetime
from uuid import uuid4

import psycopg
import pytest

from execflow_contracts import LogChunk, LogLine
from execflow_projector.projections import logs

pytestmark = pytest.mark.asyncio(loop_scope="function")

TEXTS = ["plain", 'a "quoted" {json: [1]}', "back\\slash\\\\", "ünïcødé ✓ 日本", "", "tab\there"]


def chunk(execution_id: object, first_seq: int, texts: list[str]) -> LogChunk:
    now = datetime.now(UTC)
    lines = [
        LogLine(seq=first_seq + i, stream="stdout" if i % 2 else "stderr", at=now, text=text)
        for i, text in enumerate(texts)
    ]
    return LogChunk(execution_id=execution_id, step_id="s", attempt=1, lines=lines)


async def test_lines_are_stored_as_written_in_order_and_once(conn: psycopg.AsyncConnection) -> None:
    execution_id = uuid4()
    first, second = chunk(execution_id, 1, TEXTS[:3]), chunk(execution_id, 4, TEXTS[3:])

    await logs.apply_batch(conn, [first, second])
    await logs.apply_batch(conn, [second, first])  # redelivered, in another order

    cursor = await conn.execute(
        "SELECT seq, stream, line FROM log_lines WHERE execution_id = %s ORDER BY id",
        (execution_id,),
    )
    rows = await cursor.fetchall()
    assert [line for _, _, line in rows] == TEXTS
    assert [seq for seq, _, _ in rows] == list(range(1, len(TEXTS) + 1))
    assert [stream for _, stream, _ in rows][:2] == ["stderr", "stdout"]
