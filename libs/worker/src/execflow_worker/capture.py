"""What a function logs and prints becomes its step's log lines.

Many calls run at once in one process, so each is told apart by a context variable set
for its call (asyncio tasks and the threads the worker starts carry it along): the
logging handler and the stdout/stderr proxies send a line to the step whose call wrote
it, and anything written outside a call goes where it went before.
"""

import contextlib
import io
import logging
import sys
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TextIO

# Where the current call's lines go: (stream, text).
LineSink = Callable[[str, str], None]
current: ContextVar[LineSink | None] = ContextVar("execflow_step_lines", default=None)


class StepLogHandler(logging.Handler):
    """Log records of a call: warnings and worse on stderr, the rest on stdout."""

    def emit(self, record: logging.LogRecord) -> None:
        sink = current.get()
        if sink is None:
            return
        try:
            text = self.format(record)
        except Exception:
            self.handleError(record)
            return
        stream = "stderr" if record.levelno >= logging.WARNING else "stdout"
        for line in text.splitlines() or [""]:
            sink(stream, line)


class StreamProxy(io.TextIOBase):
    """Stands in for sys.stdout or sys.stderr: a call's writes become lines of its step,
    the others go to the stream it replaced."""

    def __init__(self, name: str, original: TextIO) -> None:
        self._name = name
        self._original = original
        self._partial: dict[LineSink, str] = {}

    def write(self, text: str) -> int:
        sink = current.get()
        if sink is None:
            return self._original.write(text)
        *lines, rest = (self._partial.pop(sink, "") + text).split("\n")
        for line in lines:
            sink(self._name, line)
        if rest:
            self._partial[sink] = rest
        return len(text)

    def flush(self) -> None:
        self._original.flush()

    def end(self, sink: LineSink) -> None:
        """The call is over: what it wrote without a newline is a line too."""
        rest = self._partial.pop(sink, None)
        if rest:
            sink(self._name, rest)


@contextlib.contextmanager
def capturing(level: int = logging.INFO) -> Iterator[Callable[[LineSink], None]]:
    """While the worker runs: yields the function that ends a call's capture."""
    handler = StepLogHandler(level)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    stdout, stderr = StreamProxy("stdout", sys.stdout), StreamProxy("stderr", sys.stderr)
    sys.stdout, sys.stderr = stdout, stderr

    def end(sink: LineSink) -> None:
        stdout.end(sink)
        stderr.end(sink)

    try:
        yield end
    finally:
        sys.stdout, sys.stderr = stdout._original, stderr._original
        root.removeHandler(handler)
