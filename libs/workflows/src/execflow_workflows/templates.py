"""Templated arguments: Jinja2, sandboxed, where a missing value is an error.

Commands, env values and child inputs may use `{{ inputs.x }}`, `{{ metadata.x }}`
and `{{ steps.<id>.output }}`. The sandbox refuses unsafe attribute access and
StrictUndefined turns a missing value into an error instead of an empty string.
"""

from functools import lru_cache
from typing import Any

from jinja2 import TemplateError, nodes
from jinja2.meta import find_undeclared_variables
from jinja2.runtime import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from .errors import ExpressionError

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


@lru_cache(maxsize=1024)
def _parsed(source: str) -> nodes.Template:
    try:
        return _ENV.parse(source)
    except TemplateError as exc:
        raise ExpressionError(f"not a valid template: {exc.message}") from None


def is_template(value: str) -> bool:
    return "{{" in value or "{%" in value


def render(value: Any, context: dict[str, Any]) -> Any:
    """`value` with every string in it rendered; lists and dicts are walked."""
    if isinstance(value, str):
        return render_string(value, context) if is_template(value) else value
    if isinstance(value, list):
        return [render(item, context) for item in value]
    if isinstance(value, dict):
        return {key: render(item, context) for key, item in value.items()}
    return value


def literal(value: Any) -> Any:
    """`value` with every string that looks like a template made to render as itself
    (arguments a client gives as they are, not as templates)."""
    if isinstance(value, str):
        return f"{{% raw %}}{value}{{% endraw %}}" if is_template(value) else value
    if isinstance(value, list):
        return [literal(item) for item in value]
    if isinstance(value, dict):
        return {key: literal(item) for key, item in value.items()}
    return value


def render_string(source: str, context: dict[str, Any]) -> str:
    _parsed(source)
    try:
        return _ENV.from_string(source).render(context)
    except TemplateError as exc:
        raise ExpressionError(f"template {source!r} failed: {exc.message}") from None


def strings_in(value: Any) -> list[str]:
    """Every template string inside `value`."""
    if isinstance(value, str):
        return [value] if is_template(value) else []
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_in(item)]
    return []


def names(source: str) -> set[str]:
    """The top-level variables the template reads."""
    return set(find_undeclared_variables(_parsed(source))) - set(_ENV.globals)


def step_references(source: str) -> set[str]:
    """The step ids read as `steps.<id>` or `steps['<id>']`."""
    found = set()
    for node in _parsed(source).find_all((nodes.Getattr, nodes.Getitem)):
        if not (isinstance(node.node, nodes.Name) and node.node.name == "steps"):  # type: ignore[attr-defined]
            continue
        if isinstance(node, nodes.Getattr):
            found.add(node.attr)
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            found.add(str(node.arg.value))
    return found
