"""Ships a step's output lines to the LOGS stream in small chunks, as they come."""

import asyncio
from datetime import UTC, datetime

from nats.js import JetStreamContext

from execflow_contracts import LogChunk, LogLine, StepWork, Topology, chunk_full, line_pieces
from execflow_platform import Outgoing, publish_one

FLUSH_AFTER_S = 0.05


class LogShipper:
    """Lines are numbered across stdout and stderr (a long one in pieces); a chunk is
    sent when it is full or 50 ms after its first line, so followers see output live."""

    def __init__(
        self, js: JetStreamContext, topology: Topology, work: StepWork, delivery: int = 1
    ) -> None:
        self._delivery = delivery
        self._js = js
        self._work = work
        self._subject = topology.log(work.execution_id, work.step_id)
        self._buffer: list[LogLine] = []
        self._buffered_text = 0
        self._seq = 0
        self._acks: list[asyncio.Future[object]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Task[None]] = set()

    def add(self, stream: str, text: str) -> None:
        now = datetime.now(UTC)
        for piece in line_pieces(text):
            self._seq += 1
            self._buffer.append(LogLine(seq=self._seq, stream=stream, at=now, text=piece))
            self._buffered_text += len(piece)
            if chunk_full(len(self._buffer), self._buffered_text):
                self._flush()
        if self._buffer and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_AFTER_S, self._flush)

    async def close(self) -> None:
        """Send what is buffered and wait until every chunk is stored."""
        self._flush()
        if self._sending:
            await asyncio.gather(*self._sending)
        await asyncio.gather(*self._acks)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._buffer:
            return
        chunk = LogChunk(
            execution_id=self._work.execution_id,
            step_id=self._work.step_id,
            attempt=self._work.attempt,
            delivery=self._delivery,
            lines=self._buffer,
        )
        self._buffer, self._buffered_text = [], 0
        task = asyncio.get_running_loop().create_task(self._send(chunk))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, chunk: LogChunk) -> None:
        outgoing = Outgoing(self._subject, chunk.model_dump_json().encode(), chunk.dedupe_id)
        self._acks.append(await publish_one(self._js, outgoing))
