"""From stored domain events to the messages other services read: events and work."""

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


def outgoing(event: ExecutionEvent, topology: Topology, with_work: bool = True) -> list[Outgoing]:
    """The messages one stored event becomes: the event, and work for a dispatched step
    (unless `with_work` is False: the dispatcher holds it back)."""
    messages = [
        Outgoing(
            subject=topology.event(event.execution_id, type(event).__name__),
            payload=event.model_dump_json().encode(),
            msg_id=event.dedupe_id,
        )
    ]
    if isinstance(event, StepDispatched) and with_work:
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
        messages.append(
            Outgoing(
                subject=topology.work(event.queue),
                payload=work.model_dump_json().encode(),
                msg_id=work.dedupe_id,
            )
        )
    return messages
