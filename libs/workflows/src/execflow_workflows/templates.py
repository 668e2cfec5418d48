"""Templated arguments: Jinja2, sandboxed, where a missing value is an error.

Commands, env values and child inputs may use `{{ inputs.x }}`, `{{ metadata.x }}`
and `{{ steps.<id>.output }}`. The sandbox refuses unsafe attribute access and
StrictUndefined turns a missing value into an error instead of an empty string.
"""

from functools import lru_cache
from typing import Any

from jinja2 import Template, TemplateError, nodes, pass_context
from jinja2.environment import Environment
from jinja2.meta import TrackingCodeGenerator
from jinja2.runtime import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from . import isolation
from .errors import ExpressionError


@pass_context
def _at_render(_context: Any, value: Any) -> Any:
    return value


# Jinja folds constant expressions while it compiles (its optimizer, and the output of
# `{{ }}` with a finalize that needs no context): `{{ 'x' * 10**10 }}` would be computed
# by whoever merely checks or compiles the template (the API, the scheduler's thread).
# Neither happens here: expressions are computed only when rendered, where they are
# bounded (`isolation`).
_ENV = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, optimized=False, finalize=_at_render
)


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
    """Rendered here if it cannot run away (`isolation`), else by the evaluator."""
    evaluate = isolation.evaluator()
    if evaluate is not None and not _plain(source):
        rendered: str = evaluate("template", source, context)
        return rendered
    return render_here(source, context)


def render_here(source: str, context: dict[str, Any]) -> str:
    """Rendered in this process, streamed, and stopped once larger than MAX_RENDERED."""
    _parsed(source)
    size = 0
    parts: list[str] = []
    try:
        for part in _compiled(source).generate(context):
            size += len(part)
            if size > isolation.MAX_RENDERED:
                raise ExpressionError(
                    f"template {_shown(source)} renders to more than"
                    f" {isolation.MAX_RENDERED // 1024} KiB"
                )
            parts.append(part)
    except TemplateError as exc:
        raise ExpressionError(f"template {_shown(source)} failed: {exc.message}") from None
    return "".join(parts)


@lru_cache(maxsize=1024)
def _plain(source: str) -> bool:
    return isolation.plain_template(_parsed(source))


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    return _ENV.from_string(source)


def _shown(source: str) -> str:
    return repr(source if len(source) <= 200 else f"{source[:200]}…")


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
    tracking = _Tracking(_ENV)
    tracking.visit(_parsed(source))
    return tracking.undeclared_identifiers - set(_ENV.globals)


class _Tracking(TrackingCodeGenerator):
    """`jinja2.meta.find_undeclared_variables`'s code generator, without the optimizer it
    always uses (which computes constant expressions: see `_ENV`)."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.optimizer = None


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
