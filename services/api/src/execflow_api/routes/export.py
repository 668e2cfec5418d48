"""`GET /api/v1/history`: the event histories of many executions, by the listing's
filters, as JSON lines — an audit export."""

from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from execflow_contracts import ExportedEvent

from .. import openapi
from ..event_log import events_of
from ..listing import Filters, Order, Page, SortKey, list_executions
from ..state import Deps, Services
from .history import json_lines
from .listing import ExecutionFilters

router = APIRouter(prefix="/api/v1/history", tags=["audit"])

PAGE = 200  # executions whose events are read in one query


@router.get(
    "",
    response_class=StreamingResponse,
    responses=openapi.json_lines(ExportedEvent, "one event a line"),
)
async def export(filters: ExecutionFilters, svc: Deps) -> StreamingResponse:
    """Every event of every matching execution, oldest execution first, each execution's
    events in version order: one JSON object a line, with `execution_id`, `version`,
    `type`, `at` and `body`. Filters are those of `GET /api/v1/executions`."""
    return StreamingResponse(
        lines(svc, filters),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="history.jsonl"'},
    )


async def lines(svc: Services, filters: Filters) -> AsyncIterator[str]:
    # Keyset pages: executions created while exporting never shift or repeat a page.
    page = Page(sort=SortKey.CREATED, order=Order.ASC, limit=PAGE)
    while True:
        async with svc.pool.connection() as conn:
            rows, cursor = await list_executions(conn, filters, page)
            events = await events_of(conn, [row["id"] for row in rows])
        for line in json_lines(events):
            yield line
        if cursor is None:
            return
        page = Page(sort=page.sort, order=page.order, limit=PAGE, cursor=cursor)
