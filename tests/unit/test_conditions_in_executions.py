"""Skips, joins, templates and priorities in the Execution aggregate: pure, no I/O."""

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from execflow_contracts import ExecutionStatus, StepStatus
from execflow_scheduler.domain import Execution
from execflow_scheduler.domain import events as domain_events

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def sh(step_id: str, *needs: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "needs": list(needs), "run": {"command": ["true"]}, **extra}


def execution_of(*steps: dict[str, Any], input: Any = None, **kwargs: Any) -> Execution:
    workflow = {"steps": list(steps), **kwargs.pop("workflow", {})}
    execution = Execution(
        execution_id=uuid4(),
        workflow=workflow,
        input=input,
        metadata={"team": "infra"},
        actor="test",
        **kwargs,
    )
    execution.start(NOW, {}, None)
    return execution


def succeed(execution: Execution, step_id: str, output: Any = None) -> None:
    execution.record_step_finished(step_id, 1, 1, "w", NOW, NOW, 0, None, None, output, NOW)


def statuses(execution: Execution) -> dict[str, StepStatus]:
    return {step_id: state.status for step_id, state in execution.steps.items()}


def dispatched(execution: Execution) -> dict[str, Any]:
    return {
        e.step_id: e
        for e in execution.collect_events()
        if isinstance(e, domain_events.StepDispatched)
    }


def test_a_false_condition_skips_the_step_and_the_steps_that_need_only_it() -> None:
    execution = execution_of(
        sh("fetch"),
        sh("full", "fetch", when='inputs.mode == "full"'),
        sh("after_full", "full"),
        sh("quick", "fetch", when='inputs.mode == "quick"'),
        sh("join", "full", "quick"),
        input={"mode": "quick"},
    )
    succeed(execution, "fetch")
    assert statuses(execution) == {
        "fetch": StepStatus.SUCCEEDED,
        "full": StepStatus.SKIPPED,
        "after_full": StepStatus.SKIPPED,
        "quick": StepStatus.QUEUED,
        "join": StepStatus.PENDING,
    }
    succeed(execution, "quick")
    # A join of a skipped and a succeeded step runs.
    assert execution.steps["join"].status is StepStatus.QUEUED
    succeed(execution, "join")
    assert execution.status is ExecutionStatus.COMPLETED


def test_a_workflow_whose_every_step_is_skipped_completes() -> None:
    execution = execution_of(sh("a", when="false"), sh("b", "a"))
    assert statuses(execution) == {"a": StepStatus.SKIPPED, "b": StepStatus.SKIPPED}
    assert execution.status is ExecutionStatus.COMPLETED


def test_commands_and_env_are_rendered_at_dispatch_from_inputs_outputs_and_metadata() -> None:
    execution = execution_of(
        sh("fetch"),
        sh(
            "use",
            "fetch",
            run={
                "command": ["echo", "{{ inputs.who }}", "{{ steps.fetch.output.rows }}"],
                "env": {"TEAM": "{{ metadata.team }}"},
            },
        ),
        input={"who": "me"},
        workflow={"defaults": {"env": {"LEVEL": "debug", "TEAM": "none"}}},
    )
    succeed(execution, "fetch", output={"rows": 7})
    run = dispatched(execution)["use"].run
    assert run["command"] == ["echo", "me", "7"]
    assert run["env"] == {"LEVEL": "debug", "TEAM": "infra"}


def test_a_template_with_a_missing_value_fails_the_step_and_the_execution() -> None:
    execution = execution_of(sh("a", run={"command": ["echo", "{{ inputs.nope }}"]}), input={})
    assert execution.steps["a"].status is StepStatus.FAILED
    assert execution.status is ExecutionStatus.FAILED
    failed = [e for e in execution.collect_events() if isinstance(e, domain_events.StepFailed)]
    assert "has no attribute 'nope'" in failed[0].error
    assert failed[0].error_kind == "template"


def test_a_condition_that_cannot_be_evaluated_fails_the_execution() -> None:
    execution = execution_of(sh("a", when="inputs.missing"), input={})
    assert execution.status is ExecutionStatus.FAILED


def test_work_carries_priority_and_concurrency_gates() -> None:
    execution = execution_of(
        sh("a"),
        input={"customer": "acme"},
        workflow={"priority": 5, "concurrency": {"key": "{{ inputs.customer }}"}, "max_running": 3},
        workflow_id="billing",
        workflow_version=2,
    )
    events = execution.collect_events()
    event = next(e for e in events if isinstance(e, domain_events.StepDispatched))
    assert event.priority == 5
    assert event.gates == [
        {"name": "concurrency key 'acme'", "max": 1},
        {"name": "workflow 'billing'", "max": 3},
    ]
    assert "concurrency key 'acme' (at most 1 at once)" in next(
        e.reason for e in events if isinstance(e, domain_events.ExecutionQueued)
    )


def test_an_execution_priority_overrides_the_workflow_default() -> None:
    execution = execution_of(sh("a"), workflow={"priority": 5}, priority=-3)
    assert dispatched(execution)["a"].priority == -3
