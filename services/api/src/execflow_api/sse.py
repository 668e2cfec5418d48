"""Server-sent events: encoding and keep-alive comments.

Live streams read the read models rather than the bus: the same rows serve the first
state, the history a reconnecting client missed (`Last-Event-ID` is an event's version
or a log line's id), and the live changes, so the three can never disagree; and a
thousand open dashboards cost no JetStream consumer at all. A stream reads again when the
projector's change notice names its execution (within milliseconds of the commit), or
after a fallback interval, which bounds the delay if a notice is ever lost.
"""

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.sse import EventSourceResponse, format_sse_event

from .instruments import SSE_CLIENTS

KEEPALIVE_S = 15.0


def event(kind: str, data: Any, event_id: str | int | None = None) -> bytes:
    return format_sse_event(
        event=kind,
        data_str=json.dumps(jsonable_encoder(data)),
        id=None if event_id is None else str(event_id),
    )


def raw_event(kind: str, data_json: str, event_id: int) -> bytes:
    """An event whose data is JSON text already (one line: PostgreSQL's jsonb text)."""
    return format_sse_event(event=kind, data_str=data_json, id=str(event_id))


def response(events: AsyncIterator[bytes]) -> EventSourceResponse:
    # no-cache and no proxy buffering, or proxies hold events back
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return EventSourceResponse(_with_keepalive(events), headers=headers)


async def _with_keepalive(events: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Pass events on; a generator that yields b"" (an idle poll) may get a comment
    instead, so that proxies do not close a quiet stream."""
    last = time.monotonic()
    SSE_CLIENTS.inc()
    try:
        async for chunk in events:
            now = time.monotonic()
            if chunk:
                last = now
                yield chunk
            elif now - last > KEEPALIVE_S:
                last = now
                yield format_sse_event(comment="keep-alive")
    finally:
        SSE_CLIENTS.dec()


def wants_stream(accept: str | None) -> bool:
    return accept is not None and "text/event-stream" in accept


def last_event_id(header: str | None) -> int | None:
    """The numeric id a reconnecting EventSource sends back; anything else is ignored."""
    try:
        return int(header) if header is not None else None
    except ValueError:
        return None
