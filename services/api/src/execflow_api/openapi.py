"""What FastAPI cannot see from a route's `response_model`, described for the OpenAPI
document: live streams (SSE) and JSON lines, whose items are views, and the schemas they
refer to.

Routes answer these with a response of their own (a stream, or JSON passed on as the
database holds it), which FastAPI neither validates nor describes.
"""

from typing import Any

from fastapi import Response
from pydantic import BaseModel, TypeAdapter

REF = "#/components/schemas/{model}"
# Schemas the descriptions below refer to; wiring adds them to the document's components
# (a name FastAPI documents itself keeps FastAPI's).
COMPONENTS: dict[str, Any] = {}


def schema_of(shape: Any) -> dict[str, Any]:
    """A reference to a model (its schema added to COMPONENTS), or the schema of a type
    whose models are referred to (a union of events)."""
    schema = TypeAdapter(shape).json_schema(ref_template=REF, mode="serialization")
    COMPONENTS.update(schema.pop("$defs", {}))
    if isinstance(shape, type) and issubclass(shape, BaseModel):
        COMPONENTS[shape.__name__] = schema
        return {"$ref": REF.format(model=shape.__name__)}
    return schema


def sse(
    *events: tuple[str | list[str], Any], description: str = ""
) -> dict[int | str, dict[str, Any]]:
    """`responses` of a route answering a text/event-stream: each event's name (or
    names), and the JSON its data holds."""
    items = [
        {
            "type": "object",
            "properties": {
                "event": {"const": name} if isinstance(name, str) else {"enum": name},
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": schema_of(shape),
                },
                "id": {"type": "string"},
            },
            "required": ["event", "data"],
        }
        for name, shape in events
    ]
    content = {"itemSchema": items[0] if len(items) == 1 else {"oneOf": items}}
    return {200: {"description": description, "content": {"text/event-stream": content}}}


def json_lines(item: Any, description: str = "") -> dict[int | str, dict[str, Any]]:
    """`responses` of a route answering JSON lines (application/x-ndjson), one `item` a line."""
    content = {"itemSchema": schema_of(item)}
    return {200: {"description": description, "content": {"application/x-ndjson": content}}}


def binary(media_type: str = "application/octet-stream") -> dict[int | str, dict[str, Any]]:
    content = {media_type: {"schema": {"type": "string", "format": "binary"}}}
    return {200: {"description": "the file's bytes", "content": content}}


class EventStream(Response):
    """Names text/event-stream as a route's media type in the document, nothing more: the
    route returns its own EventSourceResponse. (As `response_class`, FastAPI's own
    EventSourceResponse would make FastAPI run the route as a generator of events.)"""

    media_type = "text/event-stream"


def join_modes(document: dict[str, Any]) -> dict[str, Any]:
    """The document with each `X-Input` and `X-Output` schema pair made one `X` again
    where the two are the same: pydantic splits a recursive model used in requests and
    answers (a workflow's steps hold workflows) even when its two schemas do not differ."""
    schemas = document.get("components", {}).get("schemas", {})
    joined = {
        n.removesuffix("-Input")
        for n in schemas
        if n.endswith("-Input") and f"{n.removesuffix('-Input')}-Output" in schemas
    }
    while True:  # a pair is the same only if the pairs it refers to are joined too
        same = {
            n
            for n in joined
            if _renamed(schemas[f"{n}-Input"], joined) == _renamed(schemas[f"{n}-Output"], joined)
        }
        if same == joined:
            break
        joined = same
    split = {f"{n}-{mode}" for n in joined for mode in ("Input", "Output")}
    kept = {n: s for n, s in schemas.items() if n not in split}
    kept |= {n: schemas[f"{n}-Input"] for n in joined}
    components = document.get("components", {}) | {"schemas": kept}
    renamed: dict[str, Any] = _renamed(document | {"components": components}, joined)
    return renamed


def _renamed(node: Any, joined: set[str]) -> Any:
    if isinstance(node, dict):
        return {
            k: _renamed_ref(v, joined) if k == "$ref" else _renamed(v, joined)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_renamed(v, joined) for v in node]
    return node


def _renamed_ref(ref: str, joined: set[str]) -> str:
    name = ref.removeprefix(REF.format(model=""))
    plain = name.removesuffix("-Input").removesuffix("-Output")
    return REF.format(model=plain) if plain != name and plain in joined else ref
