"""Ships a step's output lines to the LOGS stream in small chunks, as they come: from
a runner, and from the API on behalf of a remote agent, the same way."""

import asyncio
from datetime import UTC, datetime

from nats.js import JetStreamContext

from execflow_contracts import LogChunk, LogLine, StepWork, Topology, chunk_full, line_pieces

from .bus import Outgoing
from .delivery import Publisher

FLUSH_AFTER_S = 0.05
# A step's log may take this much text in all (per delivery); what comes after is
# dropped, and one line at its end says how much (a runaway step fills no disk).
STEP_LOG_MAX_BYTES = 64 * 1024 * 1024


class LogShipper:
    """Lines are numbered across stdout and stderr (a long one in pieces), per delivery
    of the attempt, so that a holder taking over after a lapsed lease never reuses the
    numbers (and message ids) of the one before. A chunk is sent when it is full or
    50 ms after its first line, so followers see output live."""

    def __init__(
        self,
        js: JetStreamContext,
        topology: Topology,
        work: StepWork,
        delivery: int,
        headers: dict[str, str] | None = None,
        max_bytes: int = STEP_LOG_MAX_BYTES,
    ) -> None:
        self._headers = headers  # the trace context of the step's run
        self._max_bytes = max_bytes
        self._shipped_bytes = 0
        self._dropped_lines = 0
        self._dropped_bytes = 0
        self._delivery = delivery
        self._work = work
        self._subject = topology.log(work.execution_id, work.step_id)
        self._publisher = Publisher(js)
        self._buffer: list[LogLine] = []
        self._buffered_text = 0
        self._seq = 0
        self._timer: asyncio.TimerHandle | None = None

    def add(self, stream: str, text: str) -> bool:
        """Ship the line; False if the step's log is over its cap (it was dropped)."""
        size = len(text.encode(errors="replace"))
        if self._shipped_bytes + size > self._max_bytes:
            self._dropped_lines += 1
            self._dropped_bytes += size
            return False
        self._shipped_bytes += size
        self._ship(stream, text)
        return True

    async def close(self) -> None:
        """The step is over: say what was dropped, if anything, and drain."""
        if self._dropped_lines:
            self._ship(
                "stderr",
                f"execflow: {self._dropped_lines} more lines ({self._dropped_bytes} bytes)"
                f" dropped: a step's log is capped at {self._max_bytes} bytes"
                " (EXECFLOW_STEP_LOG_MAX_BYTES)",
            )
            self._dropped_lines = self._dropped_bytes = 0
        await self.drain()

    def _ship(self, stream: str, text: str) -> None:
        now = datetime.now(UTC)
        for piece in line_pieces(text):
            self._seq += 1
            self._buffer.append(LogLine(seq=self._seq, stream=stream, at=now, text=piece))
            self._buffered_text += len(piece)
            if chunk_full(len(self._buffer), self._buffered_text):
                self._flush()
        if self._buffer and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_AFTER_S, self._flush)

    async def drain(self) -> None:
        """Send what is buffered and wait until every chunk is stored."""
        self._flush()
        await self._publisher.drain()

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
        self._publisher.send(
            Outgoing(
                self._subject, chunk.model_dump_json().encode(), chunk.dedupe_id, self._headers
            )
        )
