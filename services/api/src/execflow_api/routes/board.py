"""`GET /api/v1/board`: the dashboard's Kanban board; `/board/stream`: its cards as
they change (SSE)."""

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.sse import EventSourceResponse

from execflow_contracts import Board, BoardCard, Signal

from .. import openapi, presenters, sse
from ..dashboard import board
from ..state import Deps
from .listing import ExecutionFilters

router = APIRouter(prefix="/api/v1/board", tags=["dashboard"])


@router.get("", response_model=Board)
async def get_board(
    filters: ExecutionFilters, svc: Deps, limit: Annotated[int, Query(ge=1, le=200)] = 25
) -> Response:
    """Columns `queued`, `running`, `awaiting_input`, `completed`, `failed` and `stopped`
    (cancelled or timed out), each with its statuses, its newest `limit` cards and
    `count` (at most 10,000: then `capped`). A card is an execution's summary without
    its input, output, error and links, with its `progress`, `step_counts` (steps by
    status) and `column`. Filters are the listing's."""
    async with svc.pool.connection() as conn:
        columns = await board.board(conn, filters, limit)
    return presenters.encoded(columns)  # cards are summaries: encoded as the listing's


@router.get(
    "/stream",
    response_model=None,
    response_class=openapi.EventStream,
    responses=openapi.sse(
        ("ready", Signal),
        ("card", BoardCard),
        ("resync", Signal),
        description="cards as their executions change",
    ),
)
async def stream_board(
    filters: ExecutionFilters,
    svc: Deps,
    token: str | None = None,  # the API key, where EventSource cannot send headers
) -> EventSourceResponse:
    """`ready` once watching, then a `card` event (as `GET /board` shows cards) for each
    execution that changes and passes the filters, as it is now; `resync` when changes
    may have been missed (the API lost PostgreSQL's notices for a while): read the board
    again. Changes while disconnected are not replayed: read the board on reconnecting."""
    return sse.response(board.changes(svc, filters))
