"""The Execution aggregate's rules, pure: no I/O."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from execflow_contracts import (
    ExecutionStatus,
    IdempotencyConflict,
    IllegalTransition,
    InvalidInput,
    StepStatus,
)
from execflow_scheduler.domain import Execution, can_move, settling
from execflow_scheduler.domain import events as domain_events

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def run(step_id: str, *needs: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "needs": list(needs), "run": {"command": ["true"]}, **extra}


def execution_of(*steps: dict[str, Any], **workflow: Any) -> Execution:
    execution = Execution(
        execution_id=uuid4(),
        workflow={"steps": list(steps), **workflow},
        input=None,
        metadata={},
        actor="test",
    )
    execution.start(NOW, {}, None)
    return execution


def diamond() -> Execution:
    return execution_of(
        run("fetch"), run("left", "fetch"), run("right", "fetch"), run("join", "left", "right")
    )


def names(execution: Execution) -> list[str]:
    return [type(e).__name__ for e in execution.collect_events()]


def started(execution: Execution, step_id: str, attempt: int = 1, delivery: int = 1) -> None:
    execution.record_step_started(step_id, attempt, delivery, "w", NOW)


def finished(
    execution: Execution,
    step_id: str,
    exit_code: int = 0,
    attempt: int = 1,
    delivery: int = 1,
    output: Any = None,
) -> None:
    execution.record_step_finished(
        step_id, attempt, delivery, "w", NOW, NOW, exit_code, None, None, output, NOW
    )


def finish(execution: Execution, step_id: str, exit_code: int = 0, attempt: int = 1) -> None:
    started(execution, step_id, attempt)
    finished(execution, step_id, exit_code, attempt)


def status_of(execution: Execution) -> dict[str, StepStatus]:
    return {step_id: state.status for step_id, state in execution.steps.items()}


def test_creation_queues_the_execution_and_dispatches_the_roots() -> None:
    execution = diamond()
    assert names(execution) == ["ExecutionCreated", "StepDispatched", "ExecutionQueued"]
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


def test_an_execution_starts_when_its_first_step_did_and_never_after_the_schedulers_now() -> None:
    for runner_clock, expected in ((-timedelta(seconds=2), -2), (timedelta(seconds=5), 0)):
        execution = diamond()
        execution.collect_events()
        heard = NOW + timedelta(seconds=10)
        execution.record_step_started("fetch", 1, 1, "w", heard + runner_clock, now=heard)
        began = next(
            e for e in execution.collect_events() if isinstance(e, domain_events.ExecutionStarted)
        )
        assert began.started_at == heard + timedelta(seconds=expected), runner_clock


def test_the_join_waits_for_both_branches_then_the_execution_completes() -> None:
    execution = diamond()
    finish(execution, "fetch")
    finish(execution, "left")
    assert status_of(execution)["join"] is StepStatus.PENDING
    finish(execution, "right")
    assert status_of(execution)["join"] is StepStatus.QUEUED
    assert execution.status is ExecutionStatus.RUNNING
    started(execution, "join")
    finished(execution, "join", output={"answer": 42})
    assert execution.status is ExecutionStatus.COMPLETED
    completed = execution.collect_events()[-1]
    assert completed.output == {"join": {"answer": 42}}  # type: ignore[attr-defined]


def test_a_failing_step_fails_the_execution_and_its_dependents_never_run() -> None:
    execution = diamond()
    finish(execution, "fetch")
    started(execution, "right")
    execution.collect_events()
    finish(execution, "left", exit_code=3)
    assert execution.status is ExecutionStatus.FAILED
    events = execution.collect_events()
    failed = events[-1]
    assert type(failed).__name__ == "ExecutionFailed"
    assert failed.error == {  # type: ignore[attr-defined]
        "step_id": "left",
        "exit_code": 3,
        "message": "exited with code 3",
        "kind": "exit",
    }
    assert status_of(execution)["join"] is StepStatus.CANCELLED
    stops = [e for e in events if type(e).__name__ == "StepStopRequested"]
    assert [e.step_id for e in stops] == ["right"]  # type: ignore[attr-defined]


def test_reports_repeated_or_for_another_attempt_change_nothing() -> None:
    execution = diamond()
    finish(execution, "fetch")
    execution.collect_events()
    finish(execution, "fetch")  # a redelivered pair of reports
    started(execution, "left", attempt=7)  # an attempt that was never dispatched
    finished(execution, "ghost")
    assert execution.collect_events() == []


def test_a_finish_without_a_start_records_both() -> None:
    execution = diamond()
    execution.collect_events()
    finished(execution, "fetch")
    assert names(execution)[:3] == ["StepStarted", "ExecutionStarted", "StepSucceeded"]


RETRYING = {"max_attempts": 3, "backoff": {"initial": "2s", "factor": 2, "jitter": 0}}


def test_a_failed_attempt_backs_off_then_a_timer_retries_it() -> None:
    execution = execution_of(run("a", retry=RETRYING))
    finish(execution, "a", exit_code=1)
    assert execution.status is ExecutionStatus.BACKOFF
    events = execution.collect_events()
    scheduled = next(e for e in events if type(e).__name__ == "StepRetryScheduled")
    assert scheduled.attempt == 2  # type: ignore[attr-defined]
    assert scheduled.retry_at == NOW + timedelta(seconds=2)  # type: ignore[attr-defined]
    assert events[-1].transition == "retry"  # type: ignore[attr-defined]

    execution.fire_timer("retry:a:2", NOW)
    assert execution.status is ExecutionStatus.QUEUED
    execution.fire_timer("retry:a:2", NOW)  # fired twice: once counts
    assert names(execution) == ["StepDispatched", "ExecutionQueued"]

    finish(execution, "a", exit_code=1, attempt=2)
    scheduled = next(e for e in execution.collect_events() if hasattr(e, "retry_at"))
    assert scheduled.retry_at == NOW + timedelta(seconds=4)  # type: ignore[attr-defined]
    execution.fire_timer("retry:a:3", NOW)
    finish(execution, "a", exit_code=1, attempt=3)
    assert execution.status is ExecutionStatus.FAILED  # three attempts, all failed


def test_exit_codes_marked_not_retried_fail_at_once() -> None:
    execution = execution_of(run("a", retry={**RETRYING, "no_retry_exit_codes": [2]}))
    finish(execution, "a", exit_code=2)
    assert execution.status is ExecutionStatus.FAILED


def test_workflow_defaults_give_every_step_its_retry_policy() -> None:
    execution = execution_of(run("a"), defaults={"retry": RETRYING})
    finish(execution, "a", exit_code=1)
    assert execution.status is ExecutionStatus.BACKOFF


def test_an_attempt_over_its_timeout_is_stopped_and_counts_as_failed() -> None:
    execution = execution_of(run("a", timeout={"attempt": "500ms"}, retry=RETRYING))
    started(execution, "a")
    started_event = execution.collect_events()[-2]
    assert started_event.timeout_at == NOW + timedelta(seconds=0.5)  # type: ignore[attr-defined]
    execution.fire_timer("attempt:a:1:1", NOW)
    events = names(execution)
    assert events[:2] == ["StepStopRequested", "StepFailed"]
    assert "StepRetryScheduled" in events
    finished(execution, "a", exit_code=-15)  # the stopped process reports late
    assert execution.collect_events() == []


def test_an_execution_over_its_overall_timeout_ends_timed_out() -> None:
    execution = execution_of(run("a"), run("b", "a"), timeout={"overall": "1m"})
    started(execution, "a")
    execution.collect_events()
    execution.fire_timer("overall", NOW)
    assert execution.status is ExecutionStatus.TIMED_OUT
    events = execution.collect_events()
    assert [type(e).__name__ for e in events] == [
        "StepStopRequested",
        "StepCancelled",
        "ExecutionTimedOut",
    ]
    assert events[-1].stopped_steps == ["a"]  # type: ignore[attr-defined]


def test_cancel_stops_what_runs_cancels_what_waits_then_ends_cancelled() -> None:
    execution = execution_of(run("a"), run("b"), run("c", "a"))
    started(execution, "a")
    execution.collect_events()
    execution.cancel("enough", "alice", NOW)
    assert execution.status is ExecutionStatus.CANCELLING
    events = names(execution)
    assert events[0] == "CancelRequested"
    assert events.count("StepStopRequested") == 2  # the running a and the queued b
    assert status_of(execution) == {
        "a": StepStatus.RUNNING,
        "b": StepStatus.CANCELLED,
        "c": StepStatus.CANCELLED,
    }
    finished(execution, "a", exit_code=-15)
    assert execution.status is ExecutionStatus.CANCELLED
    cancelled = execution.collect_events()[-1]
    assert cancelled.stopped_steps == ["a"]  # type: ignore[attr-defined]


def test_cancel_with_nothing_running_is_immediate_and_a_second_cancel_is_refused() -> None:
    execution = execution_of(run("a"))
    execution.cancel("", "bob", NOW)
    assert execution.status is ExecutionStatus.CANCELLED
    with pytest.raises(IllegalTransition, match="nothing to cancel"):
        execution.cancel("", "bob", NOW)


def test_a_cancel_whose_steps_never_stop_is_forced_at_the_deadline() -> None:
    execution = execution_of(run("a"))
    started(execution, "a")
    execution.cancel("", "bob", NOW)
    execution.fire_timer("cancel", NOW)
    assert execution.status is ExecutionStatus.CANCELLED


def test_an_input_step_waits_then_the_answer_becomes_its_output() -> None:
    schema = {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}}
    execution = execution_of(
        {"id": "approve", "type": "input", "prompt": "ship it?", "schema": schema},
        run("ship", "approve"),
    )
    assert execution.status is ExecutionStatus.AWAITING_INPUT
    with pytest.raises(InvalidInput, match="'ok' is a required property"):
        execution.resume(None, {}, "alice", NOW)
    with pytest.raises(InvalidInput, match="ok: 'yes' is not of type 'boolean'"):
        execution.resume(None, {"ok": "yes"}, "alice", NOW)
    execution.collect_events()
    execution.resume(None, {"ok": True}, "alice", NOW)
    assert names(execution) == ["InputProvided", "StepDispatched", "ExecutionResumed"]
    assert execution.steps["approve"].output == {"ok": True}
    with pytest.raises(IllegalTransition, match="not waiting for input"):
        execution.resume(None, {"ok": True}, "alice", NOW)


def test_a_running_step_can_ask_and_goes_on_running_when_answered() -> None:
    execution = execution_of(run("agent"))
    started(execution, "agent")
    execution.ask("agent", 1, "which branch?", {"type": "string"}, NOW)
    assert execution.status is ExecutionStatus.AWAITING_INPUT
    execution.resume("agent", "main", "alice", NOW)
    assert execution.status is ExecutionStatus.RUNNING
    assert execution.steps["agent"].status is StepStatus.RUNNING
    finish(execution, "agent")
    assert execution.status is ExecutionStatus.COMPLETED


def test_a_redelivery_that_reports_only_its_finish_records_the_lost_runner_and_its_start() -> None:
    # A short step's runner sends its start with its finish.
    execution = execution_of(run("a"))
    started(execution, "a", delivery=1)
    execution.collect_events()
    finished(execution, "a", delivery=2)
    assert names(execution) == [
        "StepDeliveryLost",
        "StepStarted",
        "StepSucceeded",
        "ExecutionCompleted",
    ]
    assert execution.steps["a"].delivery == 2


def test_a_redelivered_attempt_records_the_lost_runner_and_ignores_it_after() -> None:
    execution = execution_of(run("a"))
    started(execution, "a", delivery=1)
    started(execution, "a", delivery=2)
    events = names(execution)
    assert events[-2:] == ["StepDeliveryLost", "StepStarted"]
    finished(execution, "a", delivery=1, exit_code=1)  # the lost runner, late
    assert execution.status is ExecutionStatus.RUNNING
    finished(execution, "a", delivery=2)
    assert execution.status is ExecutionStatus.COMPLETED


def test_a_retry_reuses_the_successes_upstream_of_its_from_step() -> None:
    original = diamond()
    finish(original, "fetch")
    original.record_step_finished("left", 1, 1, "w", NOW, NOW, 0, None, None, "L", NOW)
    finish(original, "right", exit_code=1)
    assert original.reusable_outputs("right") == {"fetch": None, "left": "L"}
    with pytest.raises(InvalidInput, match="no step 'nope'"):
        original.reusable_outputs("nope")


def test_the_same_idempotency_key_with_another_request_is_refused() -> None:
    execution = Execution(
        execution_id=uuid4(),
        workflow={"steps": [run("a")]},
        input=None,
        metadata={},
        actor="t",
        request_hash="h1",
    )
    execution.check_same_request("h1")
    with pytest.raises(IdempotencyConflict):
        execution.check_same_request("h2")


def test_the_lifecycle_table_refuses_illegal_moves() -> None:
    assert can_move(ExecutionStatus.PENDING, ExecutionStatus.QUEUED)
    assert not can_move(ExecutionStatus.COMPLETED, ExecutionStatus.RUNNING)
    assert not can_move(ExecutionStatus.CANCELLING, ExecutionStatus.RUNNING)
    execution = diamond()
    with pytest.raises(IllegalTransition, match="cannot move from queued to backoff"):
        settling.move(execution, domain_events.ExecutionBackingOff, ExecutionStatus.BACKOFF, "x")


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


def test_facts_count_only_for_the_current_delivery_of_a_running_attempt() -> None:
    execution = execution_of(run("a"))
    fact = {"kind": "action", "at": "2026-01-01T00:00:00Z", "name": "click"}
    execution.record_facts("a", 1, 1, [fact])  # queued, not started: nothing
    started(execution, "a")
    execution.record_facts("a", 1, 1, [fact])
    started(execution, "a", delivery=2)  # the bus gave the work to another worker
    execution.record_facts("a", 1, 1, [fact])  # the old holder: refused
    execution.record_facts("a", 2, 2, [fact])  # an attempt never dispatched: refused
    execution.record_facts("a", 1, 2, [])  # nothing to record
    execution.record_facts("a", 1, 2, [fact, fact])
    recorded = [e for e in execution.collect_events() if type(e).__name__ == "StepFactsRecorded"]
    assert [len(e.facts) for e in recorded] == [1, 2]  # type: ignore[attr-defined]


def test_an_event_that_would_move_a_step_against_the_step_machine_is_refused() -> None:
    execution = execution_of(run("a"))
    finish(execution, "a")
    assert execution.steps["a"].status is StepStatus.SUCCEEDED
    with pytest.raises(IllegalTransition, match="cannot move from succeeded to queued"):
        execution.trigger_event(
            domain_events.StepDispatched,
            step_id="a",
            attempt=2,
            queue="default",
            run={"command": ["true"]},
            priority=0,
            output="report",
            gates=[],
            workflow_id=None,
            namespace=None,
        )


def moves(execution: Execution) -> list[tuple[str, str, str]]:
    return [
        (e.transition, e.from_status, e.to_status)  # type: ignore[attr-defined]
        for e in execution.collect_events()
        if isinstance(e, domain_events.StatusChanged)
    ]


def test_a_claimed_step_makes_a_queued_execution_starting_until_it_starts() -> None:
    execution = execution_of(run("a"), run("b"))
    execution.record_step_claimed("a", 1, "runner-1")
    assert execution.status is ExecutionStatus.STARTING
    execution.record_step_claimed("b", 1, "runner-2")  # already starting: nothing new
    started(execution, "b")
    assert execution.status is ExecutionStatus.RUNNING
    finished(execution, "b")
    finish(execution, "a")
    assert moves(execution) == [
        ("queue", "pending", "queued"),
        ("start", "queued", "starting"),
        ("start", "starting", "running"),
        ("finish", "running", "completed"),
    ]


def test_a_start_or_finish_report_carrying_the_claim_moves_through_starting() -> None:
    # A step that starts quickly sends no claim: its start report says when it was taken;
    # a short one sends no start either: its finish report says both.
    for report in ("started", "finished"):
        execution = execution_of(run("a"))
        execution.collect_events()
        if report == "started":
            execution.record_step_started("a", 1, 1, "w", NOW, claimed_at=NOW)
        else:
            execution.record_step_finished(
                "a", 1, 1, "w", NOW, NOW, 0, None, None, None, NOW, claimed_at=NOW
            )
        transitions = moves(execution)
        assert transitions[:2] == [
            ("start", "queued", "starting"),
            ("start", "starting", "running"),
        ], report


def test_a_claim_of_a_running_execution_or_a_stale_attempt_changes_nothing() -> None:
    execution = diamond()
    finish(execution, "fetch")
    execution.collect_events()
    execution.record_step_claimed("left", 1, "w")  # running already
    execution.record_step_started("right", 1, 1, "w", NOW, claimed_at=NOW)
    assert execution.status is ExecutionStatus.RUNNING
    assert names(execution) == ["StepStarted"]
    queued = execution_of(run("a"))
    queued.record_step_claimed("a", 2, "w")  # an attempt never dispatched
    assert queued.status is ExecutionStatus.QUEUED


def test_a_retried_step_taken_again_makes_it_starting_again() -> None:
    retry = {"max_attempts": 2, "backoff": {"initial": 1.0, "jitter": 0}}
    execution = execution_of(run("a", retry=retry))
    finish(execution, "a", exit_code=1)
    assert execution.status is ExecutionStatus.BACKOFF
    execution.fire_timer("retry:a:2", NOW + timedelta(seconds=1))
    assert execution.status is ExecutionStatus.QUEUED
    execution.collect_events()
    execution.record_step_claimed("a", 2, "w")
    started(execution, "a", attempt=2)
    assert moves(execution) == [("start", "queued", "starting"), ("start", "starting", "running")]


def test_starting_can_be_cancelled_or_time_out() -> None:
    execution = execution_of(run("a"))
    execution.record_step_claimed("a", 1, "w")
    execution.cancel("no", "alice", NOW)  # the step has not started: nothing to wait for
    assert execution.status is ExecutionStatus.CANCELLED
    assert can_move(ExecutionStatus.STARTING, ExecutionStatus.TIMED_OUT)
    assert not can_move(ExecutionStatus.STARTING, ExecutionStatus.QUEUED)


def test_a_fact_report_delivered_again_counts_its_facts_once() -> None:
    execution = execution_of(run("a"))
    started(execution, "a")
    action = [{"kind": "action", "name": "click"}]
    execution.record_facts("a", 1, 1, action, sequence=1)
    execution.record_facts("a", 1, 1, action, sequence=1)  # the same report again
    execution.record_facts("a", 1, 1, action, sequence=2)
    recorded = [e for e in execution.collect_events() if type(e).__name__ == "StepFactsRecorded"]
    assert [e.sequence for e in recorded] == [1, 2]
    # A redelivered attempt numbers its reports from 1 again.
    started(execution, "a", delivery=2)
    execution.record_facts("a", 1, 2, action, sequence=1)
    assert execution.steps["a"].reported == {1}
