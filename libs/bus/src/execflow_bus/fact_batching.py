"""Step facts are coalesced, so that a chatty step sends one report per interval, not
one per fact."""

import asyncio
from collections.abc import Callable

from execflow_contracts import StepFact, fact_batches


class FactBatcher:
    """Holds facts for at most `interval_s`, then sends them together, in batches that
    each fit in a bus message."""

    def __init__(self, send: Callable[[list[StepFact]], None], interval_s: float = 0.25) -> None:
        self._send = send
        self._interval_s = interval_s
        self._pending: list[StepFact] = []
        self._timer: asyncio.TimerHandle | None = None

    def add(self, fact: StepFact) -> None:
        self._pending.append(fact)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._interval_s, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for batch in fact_batches(self._pending):
            self._send(batch)
        self._pending = []
