"""`GET /api/v1/executions/{id}/logs`: pages of lines, or a live SSE stream of them."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query
from fastapi.sse import EventSourceResponse

from execflow_contracts import LogLineView, LogPage, LogsEnd

from .. import live, logs, openapi, queries, sse
from ..state import Deps

router = APIRouter(prefix="/api/v1/executions", tags=["logs"])


@router.get(
    "/{execution_id}/logs",
    response_model=LogPage,
    responses=openapi.sse(
        ("line", LogLineView), ("end", LogsEnd), description="a page; or, streamed, every line"
    ),
)
async def get_logs(
    execution_id: UUID,
    svc: Deps,
    step: str | None = None,
    after: Annotated[int, Query(ge=0, description="the id of the last line already seen")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    follow: bool = False,
    token: str | None = None,  # the API key, where EventSource cannot send headers
    accept: Annotated[str | None, Header()] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> dict[str, Any] | EventSourceResponse:
    """Lines in the order they were stored; `next_cursor` is the `after` of the next
    page. With `?follow=true` or `Accept: text/event-stream`: an SSE stream of `line`
    events (id = the line's id) that ends with an `end` event when the execution is over."""
    if follow or sse.wants_stream(accept):
        async with svc.pool.connection() as conn:
            await queries.exists(conn, execution_id, svc.caller.namespace)
        resume = sse.last_event_id(last_event_id)
        return sse.response(live.log_lines(svc, execution_id, step, max(after, resume or 0)))
    async with svc.pool.connection() as conn:
        lines = await logs.page(conn, execution_id, svc.caller.namespace, step, after, limit)
    more = len(lines) == limit
    return {"items": lines, "next_cursor": lines[-1]["id"] if more else None}
