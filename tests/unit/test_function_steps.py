"""Function steps in the contracts and the aggregate: pure, no I/O."""

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from execflow_contracts import (
    InvalidWorkflow,
    RunSpec,
    StepSpec,
    StepStatus,
    StepWork,
    Topology,
    WorkflowSpec,
)
from execflow_scheduler.domain import events as domain_events
from execflow_scheduler.publishing import to_contract, work_message
from execflow_workflows import check_workflow

from .test_conditions_in_executions import dispatched, execution_of, succeed

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def fn(step_id: str, function: str, *needs: str, **args: Any) -> dict[str, Any]:
    return {"id": step_id, "needs": list(needs), "run": {"function": function, "args": args}}


def test_a_run_is_a_command_or_a_function_and_says_which() -> None:
    assert RunSpec(function="resize-image", args={"w": 3}).backend == "function"
    for bad, why in [
        ({}, "needs a `command`"),
        ({"command": ["true"], "function": "f"}, "`command` belong"),
        ({"function": "f", "env": {"A": "1"}}, "`env` belong"),
        ({"function": "f", "image": "x"}, "`image` belong"),
        ({"command": ["true"], "args": {"a": 1}}, "`args` are a function's"),
        ({"function": "a.b"}, "pattern"),
    ]:
        with pytest.raises(ValidationError, match=why):
            RunSpec.model_validate(bad)


def test_a_function_spec_reads_back_from_its_own_json() -> None:
    run = RunSpec(function="f", args={"n": 1})
    assert RunSpec.model_validate_json(run.model_dump_json()) == run
    command = RunSpec(command=["true"])
    assert RunSpec.model_validate_json(command.model_dump_json()) == command


def test_a_function_step_returns_its_output() -> None:
    with pytest.raises(ValidationError, match="what it returns"):
        StepSpec.model_validate(fn("a", "f") | {"output": "stdout-json"})


def test_function_work_waits_on_a_subject_of_its_own_in_its_queue() -> None:
    topology = Topology("p")
    work = StepWork(
        execution_id=uuid4(),
        step_id="a",
        attempt=1,
        queue="gpu",
        run=RunSpec(function="resize"),
        dispatched_at=NOW,
    )
    assert work.subject(topology) == "p.work.gpu.fn.resize"
    assert work.model_copy(update={"run": RunSpec(command=["x"])}).subject(topology) == "p.work.gpu"
    # Runners' consumers take `p.work.gpu` exactly: never a function's work.
    assert topology.function_consumer("a-b", "c") != topology.function_consumer("a", "b-c")


def test_args_are_rendered_at_dispatch_and_the_work_goes_to_the_function() -> None:
    execution = execution_of(
        fn("fetch", "fetch"),
        fn("use", "resize", "fetch", width="{{ steps.fetch.output.w }}", who="{{ inputs.who }}"),
        input={"who": "me"},
        workflow={"defaults": {"env": {"LEVEL": "debug"}}},
    )
    succeed(execution, "fetch", output={"w": 7})
    event = dispatched(execution)["use"]
    assert event.run["args"] == {"width": "7", "who": "me"}
    assert event.run["env"] == {}  # the defaults' env is for commands
    message = work_message(to_contract(event), Topology("p"))
    assert message.subject == "p.work.default.fn.resize"
    assert StepWork.model_validate_json(message.payload).run.args == {"width": "7", "who": "me"}


def test_templates_in_args_are_checked_when_the_workflow_is() -> None:
    spec = WorkflowSpec.model_validate({"steps": [fn("a", "f", x="{{ steps.b.output }}")]})
    with pytest.raises(InvalidWorkflow, match=r"run\.args: reads step 'b'"):
        check_workflow(spec)


def test_arguments_that_do_not_fit_the_function_fail_the_step_without_a_retry() -> None:
    execution = execution_of(
        fn("a", "f") | {"retry": {"max_attempts": 3}},
    )
    execution.record_step_finished(
        "a", 1, 1, "w", NOW, NOW, None, "input: x: field required", "input", None, NOW
    )
    assert execution.steps["a"].status is StepStatus.FAILED
    assert not any(
        isinstance(e, domain_events.StepRetryScheduled) for e in execution.collect_events()
    )
    raised = execution_of(fn("a", "f") | {"retry": {"max_attempts": 3}})
    raised.record_step_finished(
        "a", 1, 1, "w", NOW, NOW, None, "ValueError: no", "exception", None, NOW
    )
    assert any(isinstance(e, domain_events.StepRetryScheduled) for e in raised.collect_events())
