"""The Execution aggregate's rules, pure: no I/O."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from execflow_contracts import ExecutionStatus, IllegalTransition, StepStatus
from execflow_scheduler.domain import Execution, can_move

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def diamond() -> Execution:
    steps = [
        {"id": "fetch", "run": {"command": ["true"]}},
        {"id": "left", "needs": ["fetch"], "run": {"command": ["true"]}},
        {"id": "right", "needs": ["fetch"], "run": {"command": ["true"]}},
        {"id": "join", "needs": ["left", "right"], "run": {"command": ["true"]}},
    ]
    execution = Execution(
        execution_id=uuid4(), workflow={"steps": steps}, input=None, metadata={}, actor="test"
    )
    execution.advance()
    return execution


def names(execution: Execution) -> list[str]:
    return [type(e).__name__ for e in execution.collect_events()]


def finish(execution: Execution, step_id: str, exit_code: int = 0) -> None:
    execution.record_step_started(step_id, 1, "w", NOW)
    execution.record_step_finished(step_id, 1, "w", NOW, NOW, exit_code, None)


def status_of(execution: Execution) -> dict[str, StepStatus]:
    return {step_id: state.status for step_id, state in execution.steps.items()}


def test_creation_queues_the_execution_and_dispatches_the_roots() -> None:
    execution = diamond()
    assert names(execution) == ["ExecutionCreated", "ExecutionQueued", "StepDispatched"]
    assert execution.status is ExecutionStatus.QUEUED
    assert status_of(execution)["fetch"] is StepStatus.QUEUED


def test_the_first_start_makes_it_running_and_a_root_success_fans_out() -> None:
    execution = diamond()
    execution.collect_events()
    finish(execution, "fetch")
    assert names(execution) == [
        "StepStarted",
        "ExecutionStarted",
        "StepSucceeded",
        "StepDispatched",
        "StepDispatched",
    ]
    assert execution.status is ExecutionStatus.RUNNING
    assert status_of(execution)["left"] is StepStatus.QUEUED
    assert status_of(execution)["right"] is StepStatus.QUEUED


def test_the_join_waits_for_both_branches_then_the_execution_completes() -> None:
    execution = diamond()
    finish(execution, "fetch")
    finish(execution, "left")
    assert status_of(execution)["join"] is StepStatus.PENDING
    finish(execution, "right")
    assert status_of(execution)["join"] is StepStatus.QUEUED
    finish(execution, "join")
    assert execution.status is ExecutionStatus.COMPLETED


def test_a_failing_step_fails_the_execution_and_its_dependents_never_run() -> None:
    execution = diamond()
    finish(execution, "fetch")
    execution.collect_events()
    finish(execution, "left", exit_code=3)
    assert execution.status is ExecutionStatus.FAILED
    events = execution.collect_events()
    failed = events[-1]
    assert type(failed).__name__ == "ExecutionFailed"
    assert failed.error == {"step_id": "left", "exit_code": 3, "message": "exited with code 3"}  # type: ignore[attr-defined]
    assert status_of(execution)["join"] is StepStatus.CANCELLED
    assert status_of(execution)["right"] is StepStatus.CANCELLED


def test_reports_repeated_or_for_another_attempt_change_nothing() -> None:
    execution = diamond()
    finish(execution, "fetch")
    execution.collect_events()
    finish(execution, "fetch")  # a redelivered pair of reports
    execution.record_step_started("left", 7, "w", NOW)  # an attempt that was never dispatched
    execution.record_step_finished("ghost", 1, "w", NOW, NOW, 0, None)
    assert execution.collect_events() == []


def test_a_finish_without_a_start_records_both() -> None:
    execution = diamond()
    execution.collect_events()
    execution.record_step_finished("fetch", 1, "w", NOW, NOW, 0, None)
    assert names(execution)[:3] == ["StepStarted", "ExecutionStarted", "StepSucceeded"]


def test_the_lifecycle_table_refuses_illegal_moves() -> None:
    assert can_move(ExecutionStatus.PENDING, ExecutionStatus.QUEUED)
    assert not can_move(ExecutionStatus.COMPLETED, ExecutionStatus.RUNNING)
    assert not can_move(ExecutionStatus.PENDING, ExecutionStatus.COMPLETED)
    execution = diamond()
    with pytest.raises(IllegalTransition, match="cannot move from queued to completed"):
        execution._move(Execution.ExecutionCompleted, ExecutionStatus.COMPLETED, "x", output=None)


def test_history_replays_to_the_same_state() -> None:
    execution = diamond()
    finish(execution, "fetch")
    events = execution.collect_events()
    replayed = None
    for event in events:
        replayed = event.mutate(replayed)  # type: ignore[arg-type]
    assert isinstance(replayed, Execution)
    assert replayed.status is execution.status
    assert status_of(replayed) == status_of(execution)
