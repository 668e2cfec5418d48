"""A function as a worker serves it: its name, its input and output types (pydantic
validates both), whether it is a coroutine, and how it may be stopped."""

import inspect
import json
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from execflow_contracts import MAX_OUTPUT_BYTES, FunctionName

NAME: TypeAdapter[str] = TypeAdapter(FunctionName)


class FunctionError(Exception):
    """A step's call failed: `kind` is the step's error kind (`input`, `exception`)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class Function:
    name: str
    call: Callable[..., Any]
    input: TypeAdapter[Any]
    output: TypeAdapter[Any]
    takes_context: bool
    is_async: bool
    # A sync function that asks for hard stops runs in a child process, killed after
    # the grace if it does not stop by itself.
    hard_stop: bool

    def arguments(self, args: dict[str, Any]) -> Any:
        """The function's input from a step's `args`; FunctionError(input) if they do
        not fit its model."""
        try:
            return self.input.validate_python(args)
        except ValidationError as exc:
            raise FunctionError(
                "input", f"arguments do not fit {self.name}'s input: {exc}"
            ) from None

    def result(self, value: Any) -> Any:
        """What the call returned, as the step's (JSON) output."""
        try:
            dumped = self.output.dump_python(self.output.validate_python(value), mode="json")
        except ValidationError as exc:
            raise FunctionError("exception", f"{self.name} returned {exc}") from None
        size = len(json.dumps(dumped, ensure_ascii=False).encode())
        if size > MAX_OUTPUT_BYTES:
            raise FunctionError(
                "exception",
                f"{self.name} returned {size} bytes of JSON; an output is at most"
                f" {MAX_OUTPUT_BYTES // 1024} KiB",
            )
        return dumped


def describe(name: str, call: Callable[..., Any], hard_stop: bool) -> Function:
    """`call(args)` or `call(args, ctx)`: the first parameter's annotation is its input
    (a pydantic model, or any type pydantic validates), the return annotation its output."""
    NAME.validate_python(name)
    parameters = list(inspect.signature(call).parameters.values())
    if not 1 <= len(parameters) <= 2:
        raise TypeError(f"function {name!r} must take its input, and optionally the context")
    hints = typing.get_type_hints(call)
    is_async = inspect.iscoroutinefunction(call)
    if hard_stop and is_async:
        raise TypeError(
            f"function {name!r}: hard stops are for sync functions (a coroutine is cancelled)"
        )
    return Function(
        name=name,
        call=call,
        input=TypeAdapter(hints.get(parameters[0].name, dict[str, Any])),
        output=TypeAdapter(hints.get("return", Any)),
        takes_context=len(parameters) == 2,
        is_async=is_async,
        hard_stop=hard_stop,
    )
