"""What the holder of a step's work tells the scheduler, and the logs: one way for a
runner and for the API on behalf of a remote agent.

A report is a command about one delivery of one attempt; the protocol's facts
(`progress`, `question`, `output`, actions, checkpoints, screenshots, artifacts) become
reports here, whoever read them from the step.
"""

import asyncio
import json
from datetime import datetime
from typing import Any

from nats.js import JetStreamContext

from execflow_contracts import (
    FACT_KINDS,
    MAX_FACT_BYTES,
    Command,
    ReportStepClaimed,
    ReportStepFacts,
    ReportStepFinished,
    ReportStepStarted,
    StepFact,
    StepWork,
    Topology,
    parse_fact,
    progress_report,
    question_report,
    sized_output,
)
from execflow_telemetry import tracing

from .bus import command_message
from .delivery import Publisher
from .fact_batching import FactBatcher
from .log_shipping import STEP_LOG_MAX_BYTES, LogShipper


class StepReporter:
    """Its reports and log chunks carry the trace context current where it is made (the
    span of the step's run), so they continue the execution's trace."""

    def __init__(
        self,
        js: JetStreamContext,
        topology: Topology,
        work: StepWork,
        delivery: int,
        worker: str,
        facts_interval_s: float = 0.25,
        log_max_bytes: int = STEP_LOG_MAX_BYTES,
    ) -> None:
        self.work = work
        self.delivery = delivery
        self.worker = worker
        self._headers = tracing.headers(tracing.current_traceparent())
        self.logs = LogShipper(js, topology, work, delivery, self._headers, log_max_bytes)
        # The value of the step's last `output` fact, if it reported one.
        self.output: Any = None
        self._topology = topology
        self._commands = Publisher(js)
        self._facts = FactBatcher(self._send_facts, facts_interval_s)
        self._sequence = 0  # numbers the reports that carry facts
        self._held_start: ReportStepStarted | None = None
        self._start_timer: asyncio.TimerHandle | None = None
        self._claimed_at: datetime | None = None  # until a report has said it
        self._claim_timer: asyncio.TimerHandle | None = None

    def identity(self) -> dict[str, Any]:
        """The fields that say which delivery of which attempt a report is about."""
        return {
            "execution_id": self.work.execution_id,
            "step_id": self.work.step_id,
            "attempt": self.work.attempt,
            "delivery": self.delivery,
            "worker": self.worker,
            "actor": self.worker,
        }

    def claimed(self, claimed_at: datetime, hold_s: float = 0.0) -> None:
        """The holder took the work (an execution waiting for one is then `starting`).
        Said by the start report if the step starts within `hold_s` (or by the finish
        report, should it never start), else by a claim report of its own: a step slow to
        start (an image to pull) is seen starting while it prepares."""
        self._claimed_at = claimed_at
        if hold_s <= 0:
            self._send_claim()
        else:
            loop = asyncio.get_running_loop()
            self._claim_timer = loop.call_later(hold_s, self._send_claim)

    def started(self, started_at: datetime, hold_s: float = 0.0) -> None:
        """Report the start, or hold it for `hold_s`: a step that ends by then reports
        it with its finish (one message instead of two). Any other report sends it
        first, so none is ever stored before the start it follows."""
        self._held_start = ReportStepStarted(
            started_at=started_at, claimed_at=self._take_claim(), **self.identity()
        )
        if hold_s <= 0:
            self._send_held_start()
        else:
            loop = asyncio.get_running_loop()
            self._start_timer = loop.call_later(hold_s, self._send_held_start)

    def send(self, command: Command) -> None:
        """Report now; reports are stored in the order they are sent (see `drain`)."""
        if isinstance(command, ReportStepFinished):
            # The finish report carries the start not sent yet, and the claim it held.
            held = self._held_start
            claimed_at = held.claimed_at if held is not None else self._take_claim()
            if claimed_at is not None and command.claimed_at is None:
                command = command.model_copy(update={"claimed_at": claimed_at})
            self._cancel_held_start()
        elif not isinstance(command, ReportStepStarted):
            self._send_held_start()
        self._commands.send(command_message(self._topology, command, self._headers))

    def fact(self, raw: dict[str, Any]) -> StepFact | None:
        """Take one protocol fact: progress and questions are reported at once, the
        output is kept for the finish report, the rest is batched. Returns a fact that
        declares a file (for its holder to store); ValueError, KeyError or TypeError for
        a malformed one."""
        kind = raw["type"]
        if len(json.dumps(raw, ensure_ascii=False).encode()) > MAX_FACT_BYTES:
            raise ValueError(f"larger than {MAX_FACT_BYTES} bytes")
        if kind == "progress":
            self._sequence += 1
            self.send(progress_report(raw, self._sequence, **self.identity()))
        elif kind == "question":
            self._sequence += 1
            self.send(question_report(raw, self._sequence, **self.identity()))
        elif kind == "output":
            self.output = sized_output(raw.get("value"))
        elif kind in FACT_KINDS:
            parsed = parse_fact(raw)
            self._facts.add(parsed)
            return parsed if parsed.path is not None else None
        else:
            raise ValueError(f"unknown type {kind!r}")
        return None

    def add_fact(self, fact: StepFact) -> None:
        """A fact its holder made (an artifact stored or refused), batched as the others."""
        self._facts.add(fact)

    def flush_facts(self) -> None:
        self._facts.flush()

    async def drain(self) -> None:
        """Send what is batched, and wait until every log chunk and report is stored."""
        self._facts.flush()
        await self.logs.drain()
        await self._commands.drain()

    def _take_claim(self) -> datetime | None:
        """When the work was taken, if no report has said it yet."""
        if self._claim_timer is not None:
            self._claim_timer.cancel()
            self._claim_timer = None
        claimed_at, self._claimed_at = self._claimed_at, None
        return claimed_at

    def _send_claim(self) -> None:
        if (claimed_at := self._take_claim()) is not None:
            self.send(ReportStepClaimed(claimed_at=claimed_at, **self.identity()))

    def _send_held_start(self) -> None:
        start = self._held_start
        self._cancel_held_start()
        if start is not None:
            self.send(start)

    def _cancel_held_start(self) -> None:
        if self._start_timer is not None:
            self._start_timer.cancel()
            self._start_timer = None
        self._held_start = None

    def _send_facts(self, facts: list[StepFact]) -> None:
        self._sequence += 1
        self.send(ReportStepFacts(facts=facts, sequence=self._sequence, **self.identity()))
