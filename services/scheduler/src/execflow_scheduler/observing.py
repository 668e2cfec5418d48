"""What the command loop tells an operator about a batch: a span per command, continuing
the trace its sender started (tracing on), and the metrics (always)."""

import time
from collections.abc import Sequence
from uuid import UUID

from eventsourcing.persistence import Recording
from nats.aio.msg import Msg
from opentelemetry.trace import Span, SpanKind

from execflow_contracts import (
    MSG_ID_HEADER,
    TRACEPARENT_HEADER,
    AnyCommand,
    CommandOutcome,
    ErrorCode,
    StepReport,
)
from execflow_telemetry import tracing

from .metrics import BATCH_SECONDS, BATCH_SIZE, COMMANDS, EVENTS_STORED


class BatchObserved:
    def __init__(self, messages: Sequence[Msg], commands: Sequence[AnyCommand]) -> None:
        self._started = time.perf_counter()
        self._commands = commands
        BATCH_SIZE.observe(len(commands))
        self._spans: list[Span] = []
        if tracing.enabled():
            self._spans = [
                _span(m, c, len(commands)) for m, c in zip(messages, commands, strict=True)
            ]

    @property
    def traces(self) -> list[str | None] | None:
        """Each command's span as a `traceparent`, to store with its events."""
        if not self._spans:
            return None
        return [tracing.traceparent_of(span) for span in self._spans]

    def stored(self, recordings: Sequence[Recording[UUID]]) -> None:
        BATCH_SECONDS.observe(time.perf_counter() - self._started)
        for recording in recordings:
            EVENTS_STORED.labels(type(recording.domain_event).__name__).inc()

    def done(self, outcomes: Sequence[CommandOutcome]) -> None:
        for command, outcome in zip(self._commands, outcomes, strict=True):
            COMMANDS.labels(command.type, _outcome(outcome)).inc()
        for span, outcome in zip(self._spans, outcomes if self._spans else [], strict=True):
            span.set_attribute("execflow.outcome", _outcome(outcome))
            if not outcome.accepted:
                tracing.fail(span, outcome.reason)
            span.end()

    def failed(self, reason: str) -> None:
        """The batch comes back (nothing was acknowledged)."""
        for span in self._spans:
            tracing.fail(span, reason)
            span.end()


def _outcome(outcome: CommandOutcome) -> str:
    if outcome.accepted:
        return "accepted"
    return "unapplicable" if outcome.code == ErrorCode.UNAPPLICABLE_COMMAND else "refused"


def _span(message: Msg, command: AnyCommand, batch: int) -> Span:
    headers = message.headers or {}
    attributes: dict[str, str | int] = {
        "messaging.system": "nats",
        "messaging.operation.type": "process",
        "messaging.destination.name": message.subject,
        "messaging.message.id": headers.get(MSG_ID_HEADER, ""),
        "messaging.batch.message_count": batch,
        "execflow.execution_id": str(command.execution_id),
    }
    if isinstance(command, StepReport):
        attributes |= {"execflow.step_id": command.step_id, "execflow.attempt": command.attempt}
    span = tracing.start(
        f"handle {command.type}", headers.get(TRACEPARENT_HEADER), SpanKind.CONSUMER, attributes
    )
    assert span is not None  # tracing is on
    return span
