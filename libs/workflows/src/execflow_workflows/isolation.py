"""Which templates and conditions are evaluated in place, and where the others go.

A template or condition made of lookups, comparisons, literals and a few filters costs
time and memory in proportion to the values it reads (and a template's output is capped
as it is rendered): it is evaluated in the caller's process. Anything that can loop or
grow — a `{% for %}`, a call, arithmetic (`'x' * 10**10`), concatenation, a regex, a
CEL macro — can be made to run for ever or to fill memory, and no in-process check
bounds all of those: it goes to the `Evaluator` set with `isolate`, which the scheduler
runs in a process of its own, stopped at a deadline and held to a memory limit. With
none set (tests, tools), everything is evaluated in place.
"""

from collections.abc import Callable
from typing import Any, Literal

from jinja2 import nodes
from lark import Token, Tree

Kind = Literal["template", "condition"]
# (kind, source, context) → the rendered string, or the condition's truth; raises
# ExpressionError with the reason (a timeout, memory, or the expression's own).
Evaluator = Callable[[Kind, str, dict[str, Any]], Any]

# A template renders to at most this much, in place or not.
MAX_RENDERED = 1024 * 1024

# The process's evaluator (one slot: the scheduler sets it once, at start).
_evaluator: list[Evaluator | None] = [None]


def isolate(evaluator: Evaluator | None) -> None:
    """Evaluate what can run away with `evaluator` from now on (None: in place)."""
    _evaluator[0] = evaluator


def evaluator() -> Evaluator | None:
    return _evaluator[0]


# Template nodes whose cost is bounded by what they read.
_PLAIN_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Slice,
    nodes.Test,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Neg,
    nodes.Pos,
    nodes.CondExpr,
    nodes.If,
    nodes.List,
    nodes.Tuple,
    nodes.Dict,
    nodes.Pair,
    nodes.Keyword,
)
_PLAIN_FILTERS = frozenset(
    {
        "abs",
        "capitalize",
        "d",
        "default",
        "e",
        "escape",
        "first",
        "float",
        "int",
        "last",
        "length",
        "count",
        "lower",
        "round",
        "string",
        "title",
        "tojson",
        "trim",
        "upper",
    }
)


def plain_template(tree: nodes.Template) -> bool:
    for node in tree.find_all(nodes.Node):
        if isinstance(node, nodes.Filter):
            if node.name not in _PLAIN_FILTERS:
                return False
        elif not isinstance(node, _PLAIN_NODES):
            return False
    return True


# CEL functions whose cost is bounded by their arguments; macros (`map`, `all`, …) and
# `matches` (a regular expression) are not among them.
_PLAIN_FUNCTIONS = frozenset(
    {
        "size",
        "has",
        "int",
        "uint",
        "double",
        "string",
        "bool",
        "type",
        "startsWith",
        "endsWith",
        "contains",
    }
)
# Additions (string and list concatenations among them) in one plain condition, at most.
_MAX_ADDITIONS = 8


def plain_condition(tree: Tree[Token]) -> bool:
    additions = 0
    for node in tree.iter_subtrees():
        if node.data in ("member_dot_arg", "ident_arg"):
            names = [c for c in node.children if isinstance(c, Token)]
            if not names or str(names[0]) not in _PLAIN_FUNCTIONS:
                return False
        elif node.data == "addition_add":
            additions += 1
    return additions <= _MAX_ADDITIONS
