"""What every view shares.

Views are read models as the API returns them, for reading. Unknown fields are kept
(`extra="allow"`), so that a client keeps working against a newer API, and a view dumped
with `exclude_unset` gives back the keys it was read from, no more: a field that some
answers leave out is optional here and absent there. Fields are declared in the order
the API sends them.

What a client handed in and execflow stored (a workflow, an input, an event's body) is
shown as it was stored, never validated again: limits added since must not make an old
execution unreadable. Such fields are plain JSON here, documented as their model
(`DocumentedAs`).
"""

from datetime import datetime
from functools import cache
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    GetJsonSchemaHandler,
    PlainSerializer,
    TypeAdapter,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue


class View(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, validate_by_name=True)


# Times are written as pydantic writes them (`…Z` in UTC), but for those of log lines and
# of history events, which the API has always written as `datetime.isoformat()` does
# (`…+00:00`): a client comparing them as text sees what it saw before.
IsoTime = Annotated[
    datetime,
    PlainSerializer(datetime.isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]
# A number from stored JSON: an integer stays one (a float would print as `2.0`).
Number = int | float


class DocumentedAs:
    """Marks a plain JSON field as holding `shape` in the OpenAPI document, without
    validating it as such (see the module's docstring)."""

    def __init__(self, shape: Any) -> None:
        self.shape = shape

    def __get_pydantic_json_schema__(
        self, schema: Any, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(_core_schema(self.shape))


@cache
def _core_schema(shape: Any) -> Any:
    """The pydantic core schema of `shape` (made once: JSON schemas are made rarely)."""
    return TypeAdapter(shape).core_schema
