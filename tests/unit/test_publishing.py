"""Every stored domain event has a public shape, and becomes the right messages."""

import json
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from execflow_contracts import (
    EVENT_TYPES,
    ExecutionCompleted,
    ExecutionCreated,
    ExecutionStatus,
    StepDispatched,
    StepWork,
    Topology,
    TransitionType,
    parse_event,
)
from execflow_scheduler.domain import Execution
from execflow_scheduler.publishing import (
    OMITTED,
    EventTooLarge,
    bus_payload,
    outgoing,
    to_contract,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_each_event_the_aggregate_emits_converts_to_its_contract() -> None:
    steps = [
        {"id": "a", "run": {"command": ["true"]}},
        {"id": "b", "needs": ["a"], "run": {"command": ["false"]}},
        {"id": "c", "needs": ["b"], "run": {"command": ["true"]}},
    ]
    execution = Execution(
        execution_id=uuid4(), workflow={"steps": steps}, input={"x": 1}, metadata={}, actor="t"
    )
    execution.start(NOW, {}, None)
    execution.record_step_finished("a", 1, 1, "w", NOW, NOW, 0, None, None, None, NOW)
    execution.record_step_finished("b", 1, 1, "w", NOW, NOW, 1, None, None, None, NOW)
    published = [to_contract(e) for e in execution.collect_events()]
    emitted = {type(e).__name__ for e in published}
    assert emitted <= set(EVENT_TYPES)
    assert emitted >= {"ExecutionCreated", "StepDispatched", "StepFailed", "ExecutionFailed"}
    for version, event in enumerate(published, start=1):
        assert event.version == version
        assert parse_event(event.model_dump_json().encode()) == event
    created = published[0]
    assert isinstance(created, ExecutionCreated)
    assert created.input == {"x": 1}


def dispatched(step_id: str, version: int, execution_id: UUID) -> StepDispatched:
    return StepDispatched(
        execution_id=execution_id,
        version=version,
        at=NOW,
        step_id=step_id,
        attempt=1,
        queue="gpu",
        run={"command": ["true"]},  # type: ignore[arg-type]
    )


def test_a_dispatched_step_also_becomes_work_on_its_queue_sent_before_the_events() -> None:
    execution_id = uuid4()
    first, second, held = (
        dispatched(s, v, execution_id) for s, v in (("a", 2), ("b", 3), ("c", 4))
    )
    direct = {first.dedupe_id, second.dedupe_id}  # the third is held back by the dispatcher
    messages = outgoing([first, second, held], Topology("p"), direct)
    assert [m.subject for m in messages] == [
        "p.work.gpu",
        "p.work.gpu",
        f"p.evt.{execution_id}.StepDispatched",
        f"p.evt.{execution_id}.StepDispatched",
        f"p.evt.{execution_id}.StepDispatched",
    ]
    assert [m.msg_id for m in messages] == [
        f"work:{execution_id}:a:1",
        f"work:{execution_id}:b:1",
        f"{execution_id}:2",
        f"{execution_id}:3",
        f"{execution_id}:4",
    ]
    work = StepWork.model_validate_json(messages[0].payload)
    assert work.run.command == ["true"]
    assert work.step_id == "a"


def test_executions_of_one_workflow_share_its_parsed_spec() -> None:
    workflow = {"steps": [{"id": "a", "run": {"command": ["true"]}}]}
    first, second = (
        Execution(execution_id=uuid4(), workflow=workflow, input=None, metadata={}, actor="t")
        for _ in range(2)
    )
    assert first.spec is second.spec
    events = [to_contract(e) for x in (first, second) for e in x.collect_events()[:1]]
    assert all(isinstance(e, ExecutionCreated) and e.workflow is first.spec for e in events)


def test_a_stored_workflow_is_still_checked_when_read() -> None:
    cyclic = {
        "steps": [
            {"id": "a", "needs": ["b"], "run": {"command": ["true"]}},
            {"id": "b", "needs": ["a"], "run": {"command": ["true"]}},
        ]
    }
    created = {"type": "ExecutionCreated", "execution_id": str(uuid4()), "version": 1}
    with pytest.raises(ValidationError, match="cycle"):
        parse_event(json.dumps(created | {"at": NOW.isoformat(), "workflow": cyclic}).encode())


def completed(output: object) -> ExecutionCompleted:
    return ExecutionCompleted(
        execution_id=uuid4(),
        version=9,
        at=NOW,
        from_status=ExecutionStatus.RUNNING,
        to_status=ExecutionStatus.COMPLETED,
        transition=TransitionType.FINISH,
        output=output,
    )


def test_an_event_beyond_a_bus_message_leaves_its_largest_payloads_out() -> None:
    small = completed({"a": 1})
    assert bus_payload(small, 1000) == small.model_dump_json().encode()
    outputs = {f"step{i}": "o" * 300_000 for i in range(5)}
    payload = bus_payload(completed(outputs), 1024 * 1024)
    assert len(payload) <= 1024 * 1024
    event = parse_event(payload)
    assert isinstance(event, ExecutionCompleted)
    note = f"{len(json.dumps(outputs))} bytes, more than a bus message holds"
    assert event.output == {OMITTED: note}
    with pytest.raises(EventTooLarge):
        bus_payload(small, 100)  # nothing to leave out makes it fit
