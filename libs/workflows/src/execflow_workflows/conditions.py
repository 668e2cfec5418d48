"""`when` conditions: CEL expressions over `inputs`, `steps.<id>.output` and `metadata`.

CEL (cel-python) is side-effect free and cannot loop, so a condition is safe to
evaluate inside the scheduler; nothing here uses `eval`.
"""

from functools import lru_cache
from typing import Any

import celpy
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.celtypes import BoolType
from celpy.evaluation import CELEvalError
from lark import Token, Tree

from . import isolation
from .errors import ExpressionError

# The names a condition or template may use.
ROOTS = frozenset({"inputs", "steps", "metadata", "execution"})


@lru_cache(maxsize=1024)
def _compiled(expression: str) -> Tree[Token]:
    try:
        tree: Tree[Token] = celpy.Environment().compile(expression)
    except CELParseError as exc:
        raise ExpressionError(f"not a valid CEL expression: {exc.args[0]}") from None
    return tree


def check(expression: str) -> None:
    """Raises ExpressionError if `expression` does not parse."""
    _compiled(expression)


def evaluate(expression: str, context: dict[str, Any]) -> bool:
    """Evaluated here if it cannot run away (`isolation`), else by the evaluator."""
    isolated = isolation.evaluator()
    if isolated is not None and not _plain(expression):
        return bool(isolated("condition", expression, context))
    return evaluate_here(expression, context)


@lru_cache(maxsize=1024)
def _plain(expression: str) -> bool:
    return isolation.plain_condition(_compiled(expression))


def evaluate_here(expression: str, context: dict[str, Any]) -> bool:
    program = celpy.Environment().program(_compiled(expression))
    try:
        result = program.evaluate({name: json_to_cel(value) for name, value in context.items()})
    except CELEvalError as exc:
        raise ExpressionError(f"condition {expression!r} failed: {exc.args[0]}") from None
    if not isinstance(result, BoolType):
        raise ExpressionError(f"condition {expression!r} is not true or false but {result!r}")
    return bool(result)


# CEL's macros: `list.map(x, expr)` binds `x` in `expr`.
MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})


def names(expression: str) -> set[str]:
    """The top-level variables the expression reads (not a macro's own variables)."""
    tree = _compiled(expression)
    found = (_ident(n) for n in tree.iter_subtrees() if n.data == "primary")
    return {name for name in found if name is not None} - _bound(tree)


def _bound(tree: Tree[Token]) -> set[str]:
    """The variables macros bind: the first argument of each, a bare name."""
    bound: set[str] = set()
    for node in tree.iter_subtrees():
        if node.data != "member_dot_arg" or len(node.children) < 3:
            continue
        method, arguments = node.children[1], node.children[2]
        if str(method) not in MACROS or not isinstance(arguments, Tree):
            continue
        first = arguments.children[0]
        primaries = (
            [p for p in first.iter_subtrees() if p.data == "primary"]
            if isinstance(first, Tree)
            else []
        )
        if len(primaries) == 1 and (name := _ident(primaries[0])) is not None:
            bound.add(name)
    return bound


def step_references(expression: str) -> set[str]:
    """The step ids read as `steps.<id>` or `steps["<id>"]`."""
    found = set()
    for node in _compiled(expression).iter_subtrees():
        if node.data not in ("member_dot", "member_index") or not _is_steps(node.children[0]):
            continue
        key = node.children[1]
        if isinstance(key, Token):
            found.add(str(key))
        elif isinstance(key, Tree):
            literals = list(key.scan_values(lambda v: isinstance(v, Token)))
            if len(literals) == 1 and literals[0].type == "STRING_LIT":
                found.add(str(literals[0])[1:-1])
    return found


def _ident(primary: Tree[Token]) -> str | None:
    child = primary.children[0]
    if isinstance(child, Tree) and child.data == "ident":
        return str(child.children[0])
    return None


def _is_steps(member: object) -> bool:
    """True for the subtree `member → primary → ident steps`."""
    if not isinstance(member, Tree) or member.data != "member" or len(member.children) != 1:
        return False
    primary = member.children[0]
    return isinstance(primary, Tree) and primary.data == "primary" and _ident(primary) == "steps"
