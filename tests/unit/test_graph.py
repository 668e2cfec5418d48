"""The workflow graph checks: refused with a reason that names the problem."""

import pytest
from pydantic import ValidationError

from execflow_contracts import ExecutionRequest, WorkflowSpec


def step(step_id: str, *needs: str) -> dict[str, object]:
    return {"id": step_id, "needs": list(needs), "run": {"command": ["true"]}}


def test_a_diamond_is_valid() -> None:
    spec = WorkflowSpec.model_validate(
        {"steps": [step("a"), step("b", "a"), step("c", "a"), step("d", "b", "c")]}
    )
    assert [s.id for s in spec.steps] == ["a", "b", "c", "d"]


@pytest.mark.parametrize(
    ("steps", "reason"),
    [
        ([step("a", "a")], "cycle: a -> a"),
        ([step("a", "b"), step("b", "a")], "cycle"),
        ([step("a", "c"), step("b", "c"), step("c", "b")], "cycle"),
        ([step("a", "ghost")], "step 'a' needs unknown steps: ghost"),
        ([step("a"), step("a")], "duplicate step ids: a"),
    ],
)
def test_bad_graphs_are_refused_with_their_reason(steps: list[object], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        WorkflowSpec.model_validate({"steps": steps})


def test_empty_workflows_and_commands_are_refused() -> None:
    with pytest.raises(ValidationError, match="at least 1"):
        WorkflowSpec.model_validate({"steps": []})
    with pytest.raises(ValidationError, match="command"):
        WorkflowSpec.model_validate({"steps": [{"id": "a", "run": {"command": []}}]})


def test_unknown_fields_and_bad_step_ids_are_refused() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        ExecutionRequest.model_validate({"workflow": {"steps": [step("a")]}, "bogus": 1})
    with pytest.raises(ValidationError, match="pattern"):
        WorkflowSpec.model_validate({"steps": [step("has space")]})
