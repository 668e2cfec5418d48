"""`GET /api/v1/executions/{id}/history`: every stored event, in order — the audit trail."""

import json
from collections.abc import Iterator
from enum import StrEnum
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from fastapi.responses import StreamingResponse

from execflow_contracts import HistoryEvent, HistoryList

from .. import openapi, queries
from ..event_log import events_after
from ..state import Deps

router = APIRouter(prefix="/api/v1/executions", tags=["audit"])


class Format(StrEnum):
    JSON = "json"
    JSONL = "jsonl"


@router.get(
    "/{execution_id}/history",
    response_model=HistoryList,
    responses=openapi.json_lines(HistoryEvent, "the events; with `?format=jsonl`, one a line"),
)
async def history(
    execution_id: UUID, svc: Deps, format: Format = Format.JSON
) -> dict[str, Any] | StreamingResponse:
    """Each event with its type, version, time and body. `?format=jsonl` downloads
    them as JSON lines, one event a line."""
    async with svc.pool.connection() as conn:
        await queries.exists(conn, execution_id, svc.caller.namespace)
        events = await events_after(conn, execution_id)
    if format is Format.JSON:
        return {"items": events}
    return StreamingResponse(
        json_lines(events),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{execution_id}.jsonl"'},
    )


def json_lines(items: list[dict[str, Any]]) -> Iterator[str]:
    for item in items:
        yield json.dumps(jsonable_encoder(item)) + "\n"
