"""What PostgreSQL cannot store, made storable: the NUL character.

Neither a text nor a jsonb value can hold U+0000, and a batch holding one would fail at
every try, stopping its projection for every execution behind it (a step printing a NUL
byte was enough, or an input with "\\u0000"). The event store keeps the original (it
stores bytes); the read models show U+FFFD, the replacement character, in its place.
"""

import re
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel

T = TypeVar("T")
Model = TypeVar("Model", bound=BaseModel)

# A `\u0000` escape: after an even number of backslashes, which escape one another
# (`\\u0000` is a backslash and the text "u0000").
_ESCAPED_NUL = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


def without_nul(json_text: bytes) -> bytes:
    """The JSON text with each NUL it encodes replaced by U+FFFD."""
    if b"\\u0000" not in json_text:
        return json_text
    return _ESCAPED_NUL.sub(rb"\1\\ufffd", json_text)


def storable(parse: Callable[[bytes], T]) -> Callable[[bytes], T]:
    """`parse`, given the message without NULs."""

    def parse_storable(data: bytes) -> T:
        return parse(without_nul(data))

    return parse_storable


def storable_event(event: Model) -> Model:
    """The event itself, or a copy without NULs."""
    encoded = event.model_dump_json().encode()
    cleaned = without_nul(encoded)
    return event if cleaned is encoded else type(event).model_validate_json(cleaned)
