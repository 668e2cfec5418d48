"""JSON nested deeper than MAX_JSON_DEPTH is refused where it enters, as a ValueError."""

import json
import uuid

import pytest
from pydantic import ValidationError

from execflow_contracts import (
    MAX_JSON_DEPTH,
    CreateExecution,
    ExecutionRequest,
    json_depth,
    loads_bounded,
    stored_workflow,
)


def step() -> dict[str, object]:
    return {"id": "a", "run": {"command": ["true"]}}


def nested(depth: int) -> object:
    """`depth` levels of arrays and objects, alternating, around a scalar."""
    value: object = 1
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def test_depth_counts_levels_of_arrays_and_objects() -> None:
    assert json_depth(1) == 0
    assert json_depth({}) == 1
    assert json_depth({"a": [1, {"b": []}], "c": 2}) == 4
    assert json_depth(nested(10)) == 10


def test_loads_bounded_takes_the_limit_and_refuses_one_more() -> None:
    assert json_depth(loads_bounded(json.dumps(nested(MAX_JSON_DEPTH)))) == MAX_JSON_DEPTH
    with pytest.raises(ValueError, match=f"nested deeper than {MAX_JSON_DEPTH} levels"):
        loads_bounded(json.dumps(nested(MAX_JSON_DEPTH + 1)))


def test_text_too_deep_for_the_parser_is_a_value_error_too() -> None:
    with pytest.raises(ValueError, match="nested deeper than"):
        loads_bounded("[" * 5000 + "]" * 5000)


def test_a_request_refuses_deep_input_and_the_command_of_one_at_the_limit_serialises() -> None:
    workflow = {"steps": [{"id": "a", "run": {"command": ["true"]}}]}
    with pytest.raises(ValidationError, match="nested deeper than"):
        ExecutionRequest.model_validate({"workflow": workflow, "input": nested(65)})
    with pytest.raises(ValidationError, match="nested deeper than"):
        ExecutionRequest.model_validate({"workflow": workflow, "metadata": {"m": nested(64)}})
    request = ExecutionRequest.model_validate({"workflow": workflow, "input": nested(64)})
    command = CreateExecution(
        execution_id=uuid.uuid4(),
        workflow=request.workflow,
        input=request.input,
    )
    assert CreateExecution.model_validate_json(command.model_dump_json()) == command


def test_limits_added_since_do_not_make_stored_workflows_unreadable() -> None:
    spec = {
        "timeout": {"overall": 200 * 365 * 86400.0},
        "steps": [
            {"id": "a", "type": "child", "workflow": {"steps": [step()]}, "input": nested(70)}
        ],
    }
    with pytest.raises(ValidationError) as refused:
        ExecutionRequest.model_validate({"workflow": spec})
    assert "longer than a century" in str(refused.value)
    assert "nested deeper than 64 levels" in str(refused.value)
    replayed = stored_workflow(spec)  # as an event stored before the limits holds it
    assert replayed.timeout.overall == 200 * 365 * 86400.0
    assert replayed.steps[0].input == nested(70)
