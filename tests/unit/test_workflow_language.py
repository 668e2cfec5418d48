"""Conditions (CEL), templates (sandboxed Jinja) and the checks a workflow passes."""

from typing import Any

import pytest

from execflow_contracts import InvalidInput, InvalidWorkflow, WorkflowSpec
from execflow_workflows import (
    ExpressionError,
    check_input,
    check_input_schema,
    check_workflow,
    conditions,
    problems,
    templates,
)

CONTEXT = {
    "inputs": {"mode": "full", "n": 4, "tags": ["a"]},
    "metadata": {"team": "infra"},
    "steps": {"fetch": {"status": "succeeded", "output": {"rows": 12}}},
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('inputs.mode == "full"', True),
        ("inputs.n > 3 && steps.fetch.output.rows >= 12", True),
        ('has(metadata.owner) || "a" in inputs.tags', True),
        ("size(inputs.tags) == 0", False),
        ('steps["fetch"].status == "skipped"', False),
    ],
)
def test_conditions_are_cel_over_inputs_outputs_and_metadata(
    expression: str, expected: bool
) -> None:
    assert conditions.evaluate(expression, CONTEXT) is expected


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        ("inputs.missing == 1", "no such member"),
        ("inputs.n", "not true or false"),
        ("inputs.n >", "not a valid CEL expression"),
    ],
)
def test_a_condition_that_cannot_be_decided_is_an_error(expression: str, error: str) -> None:
    with pytest.raises(ExpressionError, match=error):
        conditions.evaluate(expression, CONTEXT)


def test_templates_render_values_and_walk_lists_and_maps() -> None:
    value = [
        "echo",
        "{{ inputs.mode }}-{{ steps.fetch.output.rows }}",
        {"T": "{{ metadata.team }}"},
    ]
    assert templates.render(value, CONTEXT) == ["echo", "full-12", {"T": "infra"}]
    assert templates.render("{{ inputs.tags | tojson }}", CONTEXT) == '["a"]'


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("{{ inputs.nothing }}", "has no attribute 'nothing'"),
        ("{{ steps.ghost.output }}", "has no attribute 'ghost'"),
        ("{{ inputs.__class__.__mro__ }}", "unsafe"),
        ("{{ inputs.mode ", "not a valid template"),
    ],
)
def test_a_missing_value_is_an_error_not_an_empty_string(source: str, error: str) -> None:
    with pytest.raises(ExpressionError, match=error):
        templates.render(source, CONTEXT)


def sh(step_id: str, *needs: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "needs": list(needs), "run": {"command": ["true"]}, **extra}


def spec(*steps: dict[str, Any], **workflow: Any) -> WorkflowSpec:
    return WorkflowSpec.model_validate({"steps": list(steps), **workflow})


def test_a_step_may_read_any_step_upstream() -> None:
    check_workflow(
        spec(
            sh("a"),
            sh("b", "a"),
            sh(
                "c",
                "b",
                when="steps.a.output.ok",
                run={
                    "command": ["echo", "{{ steps['a'].output }}"],
                    "env": {"X": "{{ inputs.x }}"},
                },
            ),
        )
    )


@pytest.mark.parametrize(
    ("workflow", "problem"),
    [
        (
            spec(sh("a"), sh("b", when="steps.a.output")),
            "steps[1].when: reads step 'a', which is not upstream",
        ),
        (spec(sh("a", when="steps.a.output")), "steps[0].when: reads step 'a'"),
        (
            spec(sh("a"), sh("b", run={"command": ["echo", "{{ steps.a.output }}"]})),
            "steps[1].run.command[1]: reads step 'a', which is not upstream",
        ),
        (
            spec(sh("a", run={"command": ["x"], "env": {"K": "{{ secrets.k }}"}})),
            "steps[0].run.env.K: unknown name 'secrets'",
        ),
        (spec(sh("a", when="inputs.x ==")), "steps[0].when: not a valid CEL expression"),
        (spec(sh("a", when="env.HOME != ''")), "steps[0].when: unknown name 'env'"),
        (
            spec(sh("a", run={"command": ["{{ inputs.x "]})),
            "steps[0].run.command[0]: not a valid template",
        ),
        (
            spec(sh("a"), concurrency={"key": "{{ steps.a.output }}"}),
            "concurrency.key: reads step 'a', which is not upstream",
        ),
    ],
)
def test_bad_references_are_refused_with_their_path(workflow: WorkflowSpec, problem: str) -> None:
    assert any(p.startswith(problem) for p in problems(workflow)), problems(workflow)
    with pytest.raises(InvalidWorkflow):
        check_workflow(workflow)


SCHEMA = {
    "type": "object",
    "properties": {"customer": {"type": "string"}, "count": {"type": "integer", "minimum": 1}},
    "required": ["customer"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ({}, "input: 'customer' is a required property"),
        ({"customer": 3}, "input.customer: 3 is not of type 'string'"),
        ({"customer": "a", "count": 0}, "input.count: 0 is less than the minimum of 1"),
        ({"customer": "a", "extra": 1}, "input: Additional properties"),
    ],
)
def test_input_that_does_not_match_the_schema_is_refused_naming_the_field(
    value: Any, error: str
) -> None:
    check_input(SCHEMA, {"customer": "acme", "count": 2})
    with pytest.raises(InvalidInput, match="^" + error.replace("(", r"\(")):
        check_input(SCHEMA, value)


def test_an_inputs_schema_must_itself_be_valid() -> None:
    check_input_schema(SCHEMA)
    with pytest.raises(InvalidWorkflow, match=r"^inputs\.type"):
        check_input_schema({"type": "nonsense"})
