"""A step without templates or conditions is dispatched without reading every other step:
the context of 3,000 steps, built at each of 3,000 dispatches, made a wide fan-out
quadratic (39 s against 8.5 s now)."""

from collections.abc import Iterator, Mapping
from typing import Any
from uuid import uuid4

import pytest

from execflow_contracts import StepStatus, WorkflowSpec
from execflow_scheduler.domain.workflow import StepOutcome, WorkflowRules


class Unread(Mapping[str, StepOutcome]):
    """Steps that fail the test when anything reads them."""

    def __getitem__(self, key: str) -> StepOutcome:
        raise AssertionError("the steps were read")

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("the steps were read")

    def __len__(self) -> int:
        raise AssertionError("the steps were read")


class Done:
    status = StepStatus.SUCCEEDED
    output: Any = {"n": 2}


def spec(command: list[str]) -> WorkflowSpec:
    return WorkflowSpec.model_validate({"steps": [{"id": "a", "run": {"command": command}}]})


def test_a_plain_step_is_rendered_without_reading_the_steps() -> None:
    workflow = spec(["echo", "plain"])
    rules = WorkflowRules(workflow, uuid4(), None, {}, Unread())
    assert rules.run(workflow.steps[0])["command"] == ["echo", "plain"]
    assert rules.gates(None) == []


def test_a_templated_step_reads_them_once() -> None:
    workflow = spec(["echo", "{{ steps.b.output.n }}", "{{ steps.b.status }}"])
    rules = WorkflowRules(workflow, uuid4(), None, {}, {"b": Done()})
    assert rules.run(workflow.steps[0])["command"] == ["echo", "2", "succeeded"]
    with pytest.raises(AssertionError):
        WorkflowRules(workflow, uuid4(), None, {}, Unread()).run(workflow.steps[0])
