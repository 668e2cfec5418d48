"""How deeply the JSON that clients and steps hand us may nest.

Inputs, metadata, schemas, outputs and facts are stored in events, copied into messages
and read models, and serialised again at each hop. Python's parser gives up at about
1,000 levels and pydantic's serialiser at 255, so a value nested deeper than that would
be accepted at the door and fail half-way through its journey (a step stuck `running`,
a 500). It is refused where it enters instead: a 422 with the reason, a failed step.
"""

import json
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, ValidationInfo

# Far beyond any real document, far below every limit downstream.
MAX_JSON_DEPTH = 64

T = TypeVar("T")


def json_depth(value: object) -> int:
    """Levels of arrays and objects around the deepest value (a scalar is 0); counted
    level by level, so that no depth can exhaust the stack."""
    depth = 0
    level = [value]
    while True:
        containers = [v for v in level if isinstance(v, dict | list | tuple)]
        if not containers:
            return depth
        depth += 1
        if depth > MAX_JSON_DEPTH:
            return depth  # deep enough to refuse: the rest is not read
        level = [child for c in containers for child in (c.values() if isinstance(c, dict) else c)]


def bounded(value: T) -> T:
    """The value itself; a ValueError if it nests deeper than MAX_JSON_DEPTH."""
    if json_depth(value) > MAX_JSON_DEPTH:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def loads_bounded(text: str | bytes) -> Any:
    """json.loads, with anything nested deeper than MAX_JSON_DEPTH a ValueError (like any
    other malformed text) rather than a RecursionError or a value that fails later."""
    try:
        return bounded(json.loads(text))
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels") from None


# A step's output travels in its finish report and again in events, each one bus message
# (1 MB at most unless NATS is configured otherwise).
MAX_OUTPUT_BYTES = 256 * 1024


def sized_output(value: T) -> T:
    """The value itself; a ValueError if its JSON is longer than MAX_OUTPUT_BYTES."""
    encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    if len(encoded) > MAX_OUTPUT_BYTES:
        raise ValueError(f"larger than {MAX_OUTPUT_BYTES // 1024} KiB as JSON")
    return value


# The validation context of data read again after it was accepted (a stored event's
# workflow, a registered definition): limits added since must not make it unreadable.
STORED: dict[str, Any] = {"stored": True}


def accepted_before(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and info.context.get("stored") is True


def _bounded_unless_stored(value: T, info: ValidationInfo) -> T:
    return value if accepted_before(info) else bounded(value)


# Fields that take a client's or a step's JSON.
BoundedJson = Annotated[Any, AfterValidator(_bounded_unless_stored)]
BoundedJsonObject = Annotated[dict[str, Any], AfterValidator(_bounded_unless_stored)]
