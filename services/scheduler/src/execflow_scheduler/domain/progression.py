"""How an execution moves through its graph: which steps are ready, which are skipped,
and what starting one means (work dispatched, a question asked, a child requested)."""

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from execflow_contracts import ExecutionStatus, InvalidInput, StepSpec, StepStatus

from . import events
from .settling import fail, settle
from .workflow import ExpressionError, WorkflowRules

if TYPE_CHECKING:
    from .execution import Execution

# Needs in these states let a step go ahead (or be skipped in turn).
DONE = (StepStatus.SUCCEEDED, StepStatus.SKIPPED)


def advance(x: "Execution", now: datetime) -> None:
    """Start (or skip) every step whose needs are done, until none is left; then settle
    the status. A skip can make further steps ready, hence the loop."""
    if x.status.is_terminal or x.status is ExecutionStatus.CANCELLING:
        return
    progressed = True
    while progressed and not x.status.is_terminal:
        ready = [step for step in x.spec.steps if is_ready(x, step)]
        for step in ready:
            if not x.status.is_terminal:
                start_or_skip(x, step, now)
        progressed = bool(ready)
    settle(x, now)


def is_ready(x: "Execution", step: StepSpec) -> bool:
    state = x.steps[step.id]
    return (
        state.status is StepStatus.PENDING
        and state.retry_at is None
        and all(x.steps[n].status in DONE for n in step.needs)
    )


def start_or_skip(x: "Execution", step: StepSpec, now: datetime) -> None:
    """Skip the step if every need was skipped or its condition is false; else begin.

    A join with one skipped and one succeeded need runs: only a step that needs
    nothing but skipped steps is skipped (its `steps.<id>.output` is then null)."""
    needs = [x.steps[n].status for n in step.needs]
    try:
        if needs and all(s is StepStatus.SKIPPED for s in needs):
            reason: str | None = "every step it needs was skipped"
        else:
            reason = rules(x).skip_reason(step)
    except ExpressionError as exc:
        refuse_step(x, step.id, str(exc), now)
        return
    if reason is not None:
        x.trigger_event(events.StepSkipped, step_id=step.id, reason=reason)
    else:
        begin(x, step, x.steps[step.id].attempt + 1, now)


def rules(x: "Execution") -> WorkflowRules:
    return WorkflowRules(x.spec, x.id, x.input, x.metadata, x.steps)


def refuse_step(x: "Execution", step_id: str, message: str, now: datetime) -> None:
    """A condition or template failed: retrying would fail the same way."""
    x.trigger_event(
        events.StepFailed,
        step_id=step_id,
        attempt=x.steps[step_id].attempt,
        delivery=0,
        worker=None,
        started_at=None,
        finished_at=now,
        exit_code=None,
        error=message,
        error_kind="template",
    )
    fail(
        x,
        {"step_id": step_id, "exit_code": None, "message": message, "kind": "template"},
        f"step '{step_id}' failed: {message}",
        now,
    )


def begin(x: "Execution", step: StepSpec, attempt: int, now: datetime) -> None:
    try:
        dispatch(x, step, attempt)
    except ExpressionError as exc:
        refuse_step(x, step.id, str(exc), now)


def dispatch(x: "Execution", step: StepSpec, attempt: int) -> None:
    if step.type == "input":
        x.trigger_event(
            events.InputRequested,
            step_id=step.id,
            prompt=step.prompt or f"input for step '{step.id}'",
            input_schema=step.input_schema,
        )
    elif step.type == "child":
        x.trigger_event(
            events.ChildRequested,
            step_id=step.id,
            attempt=attempt,
            child_id=uuid.uuid5(x.id, f"{step.id}:{attempt}"),
            input=rules(x).child_input(step),
        )
    else:
        step_rules = rules(x)
        x.trigger_event(
            events.StepDispatched,
            step_id=step.id,
            attempt=attempt,
            queue=x.spec.queue(step),
            run=step_rules.run(step),
            priority=x.priority,
            output=step.output,
            gates=step_rules.gates(x.workflow_id),
            workflow_id=x.workflow_id,
            namespace=x.namespace,
        )


def reusable_outputs(x: "Execution", from_step: str) -> dict[str, Any]:
    """Outputs of the steps that succeeded and do not depend on `from_step`."""
    if from_step not in x.steps:
        raise InvalidInput(f"execution {x.id} has no step '{from_step}'")
    downstream = downstream_of(x, from_step)
    return {
        step_id: state.output
        for step_id, state in x.steps.items()
        if state.status is StepStatus.SUCCEEDED and step_id not in downstream
    }


def downstream_of(x: "Execution", step_id: str) -> set[str]:
    found = {step_id}
    changed = True
    while changed:
        changed = False
        for step in x.spec.steps:
            if step.id not in found and found.intersection(step.needs):
                found.add(step.id)
                changed = True
    return found
