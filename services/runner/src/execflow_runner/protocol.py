"""The step protocol: structured facts a running step appends to `$EXECFLOW_EVENTS`.

One JSON object a line, each with a `type` (`progress`, `question`, `output`, …), so
that a shell one-liner can report: `echo '{"type":"progress","current":2,"max":5}'
>> "$EXECFLOW_EVENTS"`. Lines are read while the step runs. A line that is not a
JSON object with a type becomes a warning in the step's log; it never stops the runner.
"""

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from execflow_contracts import MAX_FACT_BYTES, loads_bounded

POLL_S = 0.1

Fact = dict[str, Any]


class FactReader:
    def __init__(
        self, path: Path, on_fact: Callable[[Fact], None], on_warning: Callable[[str], None]
    ) -> None:
        self._path = path
        self._on_fact = on_fact
        self._on_warning = on_warning
        self._offset = 0
        self._partial = b""
        self._timer: asyncio.TimerHandle | None = None
        self._started = False

    def start(self) -> None:
        """Read new facts every POLL_S from now on (the step has only just started)."""
        self._started = True
        self._timer = asyncio.get_running_loop().call_later(POLL_S, self._poll)

    def stop(self) -> None:
        """Stop polling, and read what came last (if the step ever started)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._started:
            self.read_new()

    def _poll(self) -> None:
        self.read_new()
        self._timer = asyncio.get_running_loop().call_later(POLL_S, self._poll)

    def read_new(self) -> None:
        try:
            with self._path.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return
        except OSError as exc:
            self._on_warning(f"execflow: cannot read the step's events: {exc}")
            return
        self._offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            if line.strip():
                self._parse(line)

    def _parse(self, line: bytes) -> None:
        why = ""
        try:
            if len(line) > MAX_FACT_BYTES:
                raise ValueError(f"longer than {MAX_FACT_BYTES} bytes")
            fact = loads_bounded(line)
        except ValueError as exc:
            fact, why = None, f" ({exc})"
        if not isinstance(fact, dict) or not isinstance(fact.get("type"), str):
            text = line.decode(errors="replace")[:200]
            self._on_warning(
                f"execflow: ignored a step event that is not a JSON object with a type{why}: {text}"
            )
            return
        self._on_fact(fact)
