"""The aggregate's events and the public ones: one set of names and fields, and events
stored under the aggregate's old topics still load."""

import typing
import uuid

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic, resolve_topic

from execflow_contracts import EVENT_TYPES, ExecutionEvent
from execflow_scheduler.application import ExecutionsApplication
from execflow_scheduler.domain import Execution, events
from execflow_scheduler.eventsourcing_internals import stamp_trace, trace_of
from execflow_scheduler.publishing import to_contract

# What the event store adds to each domain event, and the bus envelope to each contract.
STORE_ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_id_type"}
CREATED_ENVELOPE = {"originator_topic", "execution_id"}
# The trace context is envelope too: the application stores it with each new event (see
# eventsourcing_internals.stamp_trace), the aggregate never sees it.
BUS_ENVELOPE = {"schema_version", "execution_id", "version", "at", "type", "traceparent"}


def domain_events() -> dict[str, type[Aggregate.Event]]:
    found = {
        name: cls
        for name, cls in vars(events).items()
        if isinstance(cls, type) and issubclass(cls, Aggregate.Event) and name != "StatusChanged"
    }
    return found | {"ExecutionCreated": Execution.ExecutionCreated}


def domain_fields(cls: type[Aggregate.Event]) -> set[str]:
    return set(typing.get_type_hints(cls)) - STORE_ENVELOPE - CREATED_ENVELOPE


def contract_fields(cls: type[ExecutionEvent]) -> set[str]:
    return set(cls.model_fields) - BUS_ENVELOPE


def test_every_domain_event_is_a_public_event_and_every_public_one_a_domain_one() -> None:
    assert set(domain_events()) == set(EVENT_TYPES)


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_a_domain_event_and_its_public_shape_have_the_same_fields(name: str) -> None:
    assert domain_fields(domain_events()[name]) == contract_fields(EVENT_TYPES[name])


@pytest.mark.parametrize("name", sorted(events.OLD_TOPICS))
def test_an_event_stored_under_its_old_topic_still_loads(name: str) -> None:
    moved = events.OLD_TOPICS[name]
    assert resolve_topic(name) is moved
    assert resolve_topic(get_topic(moved)) is moved


TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def stored_and_loaded(trace: str | None) -> Aggregate.Event:
    """An event through the application's own mapper (store, then load), with `trace`
    stamped on it first."""
    execution = Execution(
        execution_id=uuid.uuid4(),
        workflow={"steps": [{"id": "a", "run": {"command": ["true"]}}]},
        input=None,
        metadata={},
        actor="test",
    )
    created, *_ = execution.collect_events()
    if trace is not None:
        stamp_trace(created, trace)
    mapper = ExecutionsApplication().mapper
    loaded: Aggregate.Event = mapper.to_domain_event(mapper.to_stored_event(created))
    return loaded


def test_a_trace_stored_with_an_event_comes_back_with_it_and_reaches_its_public_shape() -> None:
    loaded = stored_and_loaded(TRACE)
    assert trace_of(loaded) == TRACE
    assert to_contract(loaded).traceparent == TRACE


def test_an_event_stored_without_a_trace_has_none() -> None:
    loaded = stored_and_loaded(None)
    assert trace_of(loaded) is None
    contract = to_contract(loaded)
    assert contract.traceparent is None
    assert "traceparent" not in contract.model_dump_json()  # the message is as before
