"""Output arrives in chunks that cut lines anywhere; steps log in lines."""

from .base import MAX_LINE_BYTES


class LineSplitter:
    """Turns one stream's chunks into lines, without their line ends."""

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._pending = b""
        self._max = max_line_bytes

    def feed(self, chunk: bytes) -> list[str]:
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        # A runaway line without an end is shipped in pieces rather than held forever.
        while len(self._pending) >= self._max:
            lines.append(self._pending[: self._max])
            self._pending = self._pending[self._max :]
        return [_text(line) for line in lines]

    def rest(self) -> list[str]:
        """What is left when the stream ends: a last line without a line end."""
        rest, self._pending = self._pending, b""
        return [_text(rest)] if rest else []


def _text(raw: bytes) -> str:
    return raw.decode(errors="replace").rstrip("\r")
