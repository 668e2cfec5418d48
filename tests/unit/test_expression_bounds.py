"""Templates and conditions that could run away: told apart from plain ones, never
computed by whoever checks them, and evaluated by a child process held to a deadline
and a memory limit, which is replaced when it is stopped."""

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from execflow_scheduler.expressions import ExpressionProcess
from execflow_workflows import ExpressionError, check_workflow, conditions, isolation, templates
from execflow_workflows.conditions import _compiled as compiled_condition
from execflow_workflows.templates import _parsed as parsed_template

from .test_workflow_language import spec

LOOPS = (
    "{% for a in range(100000) %}{% for b in range(100000) %}{% for c in range(100000) %}"
    "{% endfor %}{% endfor %}{% endfor %}"
)


@pytest.mark.parametrize(
    ("source", "plain"),
    [
        ("{{ inputs.name }}", True),
        ("{{ steps.fetch.output.rows | default(0) }} {% if inputs.x %}y{% endif %}", True),
        ("{{ inputs.tags | length }} {{ inputs.mode | upper }}", True),
        (LOOPS, False),
        ("{{ 'x' * 10**10 }}", False),
        ("{{ inputs.a ~ inputs.b }}", False),
        ("{{ range(10) | list }}", False),
        ("{{ 'x' | center(100) }}", False),
    ],
)
def test_a_template_is_plain_only_if_it_cannot_loop_or_grow(source: str, plain: bool) -> None:
    assert isolation.plain_template(parsed_template(source)) is plain


@pytest.mark.parametrize(
    ("expression", "plain"),
    [
        ('inputs.mode == "full" && size(inputs.tags) > 0', True),
        ('has(metadata.owner) || inputs.name.startsWith("a")', True),
        ("inputs.l.map(a, a + 1).size() > 0", False),
        ("inputs.l.all(a, a > 0)", False),
        ('inputs.name.matches("(a+)+$")', False),
        (" + ".join(["inputs.s"] * 12) + ' == ""', False),
    ],
)
def test_a_condition_is_plain_only_if_it_cannot_loop_or_grow(expression: str, plain: bool) -> None:
    assert isolation.plain_condition(compiled_condition(expression)) is plain


def finishes(work: Callable[[], object], within_s: float = 10.0) -> bool:
    """Whether `work` returns (or raises) before the deadline: a liveness check."""
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(within_s)
    return not thread.is_alive()


@pytest.mark.parametrize(
    "source",
    ["{{ 'x' * 10**10 }}", "{{ 'x' | center(9999999999) }}", "{{ [1] * 10**10 | length }}"],
)
def test_checking_or_compiling_a_template_computes_none_of_it(source: str) -> None:
    # Jinja's optimizer would fold these constants at compile time, in the API's check or
    # the scheduler's thread; here they are only computed when rendered.
    workflow = spec({"id": "a", "run": {"command": ["echo", source]}})
    assert finishes(lambda: check_workflow(workflow))
    assert finishes(lambda: templates._compiled(source))


@pytest.fixture(scope="module")
def evaluator() -> Iterator[ExpressionProcess]:
    process = ExpressionProcess(timeout_s=0.5, memory_mb=256)
    process.start()
    try:
        yield process
    finally:
        process.close()


def test_a_runaway_loop_is_stopped_at_the_deadline(evaluator: ExpressionProcess) -> None:
    with pytest.raises(ExpressionError, match=r"took longer than 0\.5s: stopped"):
        evaluator("template", LOOPS, {})
    # The evaluator goes on: the next one is answered.
    assert evaluator("template", "{{ n + 1 }}", {"n": 1}) == "2"


def test_a_runaway_allocation_is_stopped_at_the_memory_limit(
    evaluator: ExpressionProcess,
) -> None:
    with pytest.raises(ExpressionError, match="needs more than 256 MiB"):
        evaluator("template", "{{ 'x' * 10**10 }}", {})
    assert evaluator("condition", "inputs.n > 1", {"inputs": {"n": 2}}) is True


def test_a_runaway_cel_macro_is_stopped(evaluator: ExpressionProcess) -> None:
    context: dict[str, Any] = {"inputs": {"l": list(range(1000))}}
    expression = "inputs.l.map(a, inputs.l.map(b, inputs.l.map(c, a + b + c))).size() > 0"
    with pytest.raises(ExpressionError, match="took longer than"):
        evaluator("condition", expression, context)


def test_a_rendered_template_is_capped_in_place_too() -> None:
    source = "{{ inputs.s }}" * 3
    big = "x" * (isolation.MAX_RENDERED // 2)
    with pytest.raises(ExpressionError, match="renders to more than 1024 KiB"):
        templates.render_here(source, {"inputs": {"s": big}})


def test_plain_expressions_never_reach_the_evaluator() -> None:
    asked: list[str] = []

    def refusing(kind: isolation.Kind, source: str, context: dict[str, Any]) -> Any:
        asked.append(source)
        raise ExpressionError("isolated")

    isolation.isolate(refusing)
    try:
        assert templates.render_string("{{ inputs.n }}", {"inputs": {"n": 3}}) == "3"
        assert conditions.evaluate("inputs.n == 3", {"inputs": {"n": 3}}) is True
        with pytest.raises(ExpressionError, match="isolated"):
            templates.render_string("{{ inputs.n * 2 }}", {"inputs": {"n": 3}})
    finally:
        isolation.isolate(None)
    assert asked == ["{{ inputs.n * 2 }}"]


def test_a_macros_own_variables_are_not_unknown_names() -> None:
    expression = "inputs.l.map(a, inputs.l.all(b, a < b + steps.s.output)).size() > 0"
    assert conditions.names(expression) == {"inputs", "steps"}
    assert conditions.names("inputs.l.map(a, a > nope)") == {"inputs", "nope"}
