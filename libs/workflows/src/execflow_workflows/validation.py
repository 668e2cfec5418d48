"""Checks a workflow passes before it is registered or run, each failure with its path.

The graph itself (duplicate ids, unknown `needs`, cycles) is checked by the spec's
own validator; here: conditions and templates parse, read only known names, and
read only the outputs of steps upstream of the step that reads them.
"""

from typing import Any

import jsonschema

from execflow_contracts import InvalidInput, InvalidWorkflow, StepSpec, WorkflowSpec

from . import conditions, templates
from .conditions import ROOTS
from .errors import ExpressionError


def check_workflow(spec: WorkflowSpec) -> None:
    """Raises InvalidWorkflow naming every problem and where it is."""
    found = problems(spec)
    if found:
        raise InvalidWorkflow("; ".join(found))


def problems(spec: WorkflowSpec) -> list[str]:
    upstream = ancestors(spec)
    found: list[str] = []
    for index, step in enumerate(spec.steps):
        for where, kind, source in _expressions(step):
            found += _check(f"steps[{index}].{where}", kind, source, upstream[step.id])
    if spec.concurrency is not None:
        found += _check("concurrency.key", "template", spec.concurrency.key, set())
    return found


def ancestors(spec: WorkflowSpec) -> dict[str, set[str]]:
    """Every step's transitive needs."""
    needs = {s.id: set(s.needs) for s in spec.steps}
    result: dict[str, set[str]] = {}

    def visit(step_id: str) -> set[str]:
        if step_id not in result:
            result[step_id] = set(needs[step_id])
            for need in needs[step_id]:
                result[step_id] |= visit(need)
        return result[step_id]

    for step_id in needs:
        visit(step_id)
    return result


def check_input_schema(schema: dict[str, Any] | None) -> None:
    if schema is None:
        return
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        raise InvalidWorkflow(f"inputs{'.' + where if where else ''}: {exc.message}") from None


def check_input(schema: dict[str, Any] | None, value: Any) -> None:
    """Raises InvalidInput naming the field that does not match the workflow's inputs."""
    if schema is None:
        return
    error = jsonschema.exceptions.best_match(
        jsonschema.validators.validator_for(schema)(schema).iter_errors(value)
    )
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path)
        raise InvalidInput(f"input{'.' + where if where else ''}: {error.message}")


def _expressions(step: StepSpec) -> list[tuple[str, str, str]]:
    """(path, kind, source) of every condition and template in the step."""
    found = [("when", "condition", step.when)] if step.when else []
    if step.run is not None:
        found += [(f"run.command[{i}]", "template", c) for i, c in enumerate(step.run.command)]
        found += [(f"run.env.{k}", "template", v) for k, v in step.run.env.items()]
        if step.run.workdir:
            found.append(("run.workdir", "template", step.run.workdir))
        found += [("run.args", "template", s) for s in templates.strings_in(step.run.args)]
    found += [("input", "template", s) for s in templates.strings_in(step.input)]
    return [(where, kind, source) for where, kind, source in found if _worth(kind, source)]


def _worth(kind: str, source: str) -> bool:
    return kind == "condition" or templates.is_template(source)


def _check(where: str, kind: str, source: str, upstream: set[str]) -> list[str]:
    language = conditions if kind == "condition" else templates
    try:
        unknown = sorted(language.names(source) - ROOTS)
        steps = language.step_references(source)
    except ExpressionError as exc:
        return [f"{where}: {exc}"]
    found = [f"{where}: unknown name '{name}' (use {', '.join(sorted(ROOTS))})" for name in unknown]
    found += [
        f"{where}: reads step '{step}', which is not upstream (add it to `needs`)"
        for step in sorted(steps - upstream)
    ]
    return found
