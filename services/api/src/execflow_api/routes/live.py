"""`GET /api/v1/executions/{id}/events`: the execution's events as they happen (SSE)."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query
from fastapi.sse import EventSourceResponse

from execflow_contracts import EVENT_TYPES, AnyEvent, ExecutionView

from .. import live, openapi, sse
from ..state import Deps

router = APIRouter(prefix="/api/v1/executions", tags=["live"])


@router.get(
    "/{execution_id}/events",
    response_model=None,
    response_class=openapi.EventStream,
    responses=openapi.sse(
        ("snapshot", ExecutionView),
        (sorted(EVENT_TYPES), AnyEvent),
        description="the execution now, then its events as they happen",
    ),
)
async def events(
    execution_id: UUID,
    svc: Deps,
    token: str | None = None,  # the API key, where EventSource cannot send headers
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=60,
            description="seconds to wait for an execution the read models do not have"
            " yet (one just created), before answering 404",
        ),
    ] = 0,
) -> EventSourceResponse:
    """A `snapshot` event (the execution as `GET /executions/{id}` shows it), then each
    event by its type (`StepStarted`, `ExecutionCompleted`, …) with its body; every id
    is the event's version. Reconnecting with `Last-Event-ID` resumes after that
    version, without a snapshot. The stream ends after the execution's final event."""
    await live.until_known(svc, execution_id, wait)
    return sse.response(live.execution_events(svc, execution_id, sse.last_event_id(last_event_id)))
