"""The span of a step's run, on a runner or (through the API) on a remote agent alike."""

from nats.aio.msg import Msg
from opentelemetry.trace import Span, SpanKind

from execflow_contracts import TRACEPARENT_HEADER, StepWork

from . import tracing


def start_run(message: Msg, work: StepWork, worker: str, agent: bool = False) -> Span | None:
    """A span for the run of a step's work, continuing the trace of its dispatch (the
    work message's header); the caller ends it. None if tracing is off."""
    if not tracing.enabled():
        return None
    attributes: dict[str, str | int | bool] = {
        "messaging.system": "nats",
        "messaging.operation.type": "process",
        "messaging.destination.name": message.subject,
        "execflow.execution_id": str(work.execution_id),
        "execflow.step_id": work.step_id,
        "execflow.attempt": work.attempt,
        "execflow.queue": work.queue,
        "execflow.worker": worker,
        "execflow.delivery": message.metadata.num_delivered,
        "execflow.agent": agent,
    }
    if work.workflow_id is not None:
        attributes["execflow.workflow_id"] = work.workflow_id
    parent = (message.headers or {}).get(TRACEPARENT_HEADER)
    return tracing.start(f"run {work.step_id}", parent, SpanKind.CONSUMER, attributes)
