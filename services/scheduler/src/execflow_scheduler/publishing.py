"""From stored domain events to the messages other services read: events and work."""

from collections.abc import Container, Sequence
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol

from execflow_contracts import (
    EVENT_TYPES,
    ExecutionEvent,
    StepDispatched,
    StepWork,
    Topology,
)
from execflow_platform import Outgoing

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
    events: Sequence[ExecutionEvent], topology: Topology, direct: Container[str]
) -> list[Outgoing]:
    """The messages a batch of stored events becomes: each event, and work for each
    dispatched step in `direct` (the others the dispatcher holds back). Work goes first:
    the runner starts its step while the projections take the events, rather than
    after (dispatch p50 ~0.3 ms lower at idle). Each stream still gets its messages in
    the order of the events."""
    work = [
        work_message(e, topology)
        for e in events
        if isinstance(e, StepDispatched) and e.dedupe_id in direct
    ]
    return work + [event_message(e, topology) for e in events]


def event_message(event: ExecutionEvent, topology: Topology) -> Outgoing:
    return Outgoing(
        subject=topology.event(event.execution_id, type(event).__name__),
        payload=event.model_dump_json().encode(),
        msg_id=event.dedupe_id,
    )


def work_message(event: StepDispatched, topology: Topology) -> Outgoing:
    work = StepWork(
        execution_id=event.execution_id,
        step_id=event.step_id,
        attempt=event.attempt,
        queue=event.queue,
        run=event.run,
        dispatched_at=event.at,
        priority=event.priority,
        output=event.output,
    )
    return Outgoing(
        subject=topology.work(event.queue),
        payload=work.model_dump_json().encode(),
        msg_id=work.dedupe_id,
    )
