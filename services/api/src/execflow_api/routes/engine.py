"""The engine overview: a snapshot, and an SSE stream of it."""

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.sse import EventSourceResponse

from execflow_contracts import EngineOverview

from .. import openapi, overview, sse
from ..state import Deps, Services

router = APIRouter(prefix="/api/v1/engine", tags=["engine"])

REFRESH_S = 1.0


@router.get("/overview", response_model=EngineOverview)
async def get_overview(svc: Deps) -> dict[str, Any]:
    """Executions per status, what runs now, each queue's waiting and leased work,
    and the live workers (as the worker registry lists them)."""
    return await overview.snapshot(svc)


@router.get(
    "/overview/stream",
    response_model=None,
    response_class=openapi.EventStream,
    responses=openapi.sse(("overview", EngineOverview), description="the overview as it changes"),
)
async def stream_overview(
    svc: Deps,
    token: str | None = None,  # the API key, where EventSource cannot send headers
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> EventSourceResponse:
    """An `overview` event now and whenever the overview changes (checked every second).
    Its id fingerprints the state: reconnecting with it skips a state already seen."""
    return sse.response(overview_changes(svc, last_event_id))


async def overview_changes(svc: Services, seen: str | None) -> AsyncIterator[bytes]:
    while True:
        state = await overview.snapshot(svc)
        state_id = overview.fingerprint(state)
        if state_id != seen:
            seen = state_id
            yield sse.event("overview", state, state_id)
        else:
            yield b""
        await asyncio.sleep(REFRESH_S)
