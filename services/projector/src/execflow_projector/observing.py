"""What a projection's loop tells an operator about a batch: for each message whose
sender traced it, a `project` span in its trace (tracing on), and the metrics (always)."""

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from nats.aio.msg import Msg
from opentelemetry.trace import SpanKind

from execflow_contracts import TRACEPARENT_HEADER
from execflow_telemetry import tracing

from .metrics import BATCH_SECONDS, PROJECTED, PROJECTION_LAG


class BatchTimer:
    def __init__(self) -> None:
        self.started_ns = time.time_ns()
        self._started = time.perf_counter()

    def applied(self, consumer: str, messages: Sequence[Msg], items: Sequence[Any]) -> None:
        """The batch is committed: `items` are the messages' parsed contents."""
        BATCH_SECONDS.labels(consumer).observe(time.perf_counter() - self._started)
        PROJECTED.labels(consumer).inc(len(items))
        now = datetime.now(UTC)
        for item in items:
            at = getattr(item, "at", None)
            if isinstance(at, datetime):
                PROJECTION_LAG.observe((now - at).total_seconds())
        if tracing.enabled():
            ended = time.time_ns()
            for message in messages:
                self._traced(consumer, message, ended)

    def _traced(self, consumer: str, message: Msg, ended_ns: int) -> None:
        parent = (message.headers or {}).get(TRACEPARENT_HEADER)
        if parent is None:
            return
        # execflow.evt.<execution>.<Event> or execflow.log.<execution>.<step>
        _, kind, execution_id, what = message.subject.rsplit(".", 3)
        attributes = {
            "messaging.system": "nats",
            "messaging.operation.type": "process",
            "messaging.destination.name": message.subject,
            "messaging.consumer.group.name": consumer,
            "execflow.execution_id": execution_id,
        }
        name = f"project {what}" if kind == "evt" else f"project log lines of {what}"
        tracing.record(name, parent, self.started_ns, ended_ns, SpanKind.CONSUMER, attributes)
