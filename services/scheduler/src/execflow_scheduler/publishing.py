"""From stored domain events to the messages other services read: events and work."""

import json
import logging
from collections.abc import Container, Sequence
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from opentelemetry.trace import SpanKind

from execflow_contracts import (
    EVENT_TYPES,
    ExecutionEvent,
    StepDispatched,
    StepWork,
    Topology,
)
from execflow_platform import Outgoing
from execflow_telemetry import tracing

log = logging.getLogger(__name__)

# NATS's own default; the relay passes what its server announces.
DEFAULT_MAX_PAYLOAD = 1024 * 1024
# Fields that hold a client's or a step's JSON, which the projections store as they come,
# and that an event can leave out of its message: the note in their place says so.
OMITTABLE = ("output", "input", "value", "metadata", "input_schema")
OMITTED = "$omitted"

_ENVELOPE = {
    "originator_id",
    "originator_version",
    "timestamp",
    "originator_topic",
    "execution_id",
}


def to_contract(domain_event: DomainEventProtocol[UUID]) -> ExecutionEvent:
    """The public shape of a stored event: same name, same fields, plus its identity."""
    event_class = EVENT_TYPES[type(domain_event).__name__]
    attributes = vars(domain_event)
    return event_class(
        execution_id=domain_event.originator_id,
        version=domain_event.originator_version,
        at=attributes["timestamp"],
        **{k: v for k, v in attributes.items() if k not in _ENVELOPE},
    )


def outgoing(
    events: Sequence[ExecutionEvent],
    topology: Topology,
    direct: Container[str],
    max_bytes: int = DEFAULT_MAX_PAYLOAD,
) -> list[Outgoing]:
    """The messages a batch of stored events becomes: each event, and work for each
    dispatched step in `direct` (the others the dispatcher holds back). Work goes first:
    the runner starts its step while the projections take the events, rather than
    after (dispatch p50 ~0.3 ms lower at idle). Each stream still gets its messages in
    the order of the events."""
    work = [
        work_message(e, topology, dispatched(e))
        for e in events
        if isinstance(e, StepDispatched) and e.dedupe_id in direct
    ]
    return work + [event_message(e, topology, max_bytes) for e in events]


def event_message(
    event: ExecutionEvent, topology: Topology, max_bytes: int = DEFAULT_MAX_PAYLOAD
) -> Outgoing:
    return Outgoing(
        subject=topology.event(event.execution_id, type(event).__name__),
        payload=bus_payload(event, max_bytes),
        msg_id=event.dedupe_id,
        headers=tracing.headers(event.traceparent),
    )


class EventTooLarge(Exception):
    """An event that no omission brings within a bus message."""


def bus_payload(event: ExecutionEvent, max_bytes: int) -> bytes:
    """The event as JSON; if that is more than the bus takes (an execution's outputs
    together, say), with its largest payloads replaced by a note of their size until it
    fits. The event store keeps them whole, and a rebuild of the read models from it
    restores them; the relay would otherwise stop at this event, and every execution
    with it."""
    payload = event.model_dump_json().encode()
    if len(payload) <= max_bytes:
        return payload
    data = json.loads(payload)
    sizes = {name: len(json.dumps(data[name])) for name in OMITTABLE if data.get(name) is not None}
    omitted: list[str] = []
    for name in sorted(sizes, key=sizes.__getitem__, reverse=True):
        data[name] = {OMITTED: f"{sizes[name]} bytes, more than a bus message holds"}
        omitted.append(name)
        payload = json.dumps(data, separators=(",", ":")).encode()
        if len(payload) <= max_bytes:
            log.error(
                "%s of %s: %s left out of its message (%d bytes at most); the store holds it",
                type(event).__name__,
                event.execution_id,
                ", ".join(omitted),
                max_bytes,
            )
            return payload
    raise EventTooLarge(f"{type(event).__name__} of {event.execution_id}: {len(payload)} bytes")


def dispatched(event: StepDispatched, parent: str | None = None) -> dict[str, str] | None:
    """With tracing on, a `dispatch` span under the trace stored with the event (or with
    held work, `parent`), and the headers that carry it to the step's runner."""
    return tracing.headers(
        tracing.mark(
            f"dispatch {event.step_id}",
            parent or event.traceparent,
            SpanKind.PRODUCER,
            {
                "messaging.system": "nats",
                "messaging.operation.type": "send",
                "execflow.execution_id": str(event.execution_id),
                "execflow.step_id": event.step_id,
                "execflow.attempt": event.attempt,
                "execflow.queue": event.queue_key,
            },
        )
    )


def work_message(
    event: StepDispatched, topology: Topology, headers: dict[str, str] | None = None
) -> Outgoing:
    work = StepWork(
        execution_id=event.execution_id,
        step_id=event.step_id,
        attempt=event.attempt,
        queue=event.queue,
        run=event.run,
        dispatched_at=event.at,
        priority=event.priority,
        output=event.output,
        workflow_id=event.workflow_id,
        namespace=event.namespace,
    )
    return Outgoing(
        subject=work.subject(topology),
        payload=work.model_dump_json().encode(),
        msg_id=work.dedupe_id,
        headers=headers,
    )
