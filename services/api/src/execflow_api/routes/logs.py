"""`GET /api/v1/executions/{id}/logs`: pages of lines, or a live SSE stream of them."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from .. import logs
from ..state import Deps

router = APIRouter(prefix="/api/v1/executions", tags=["logs"])


@router.get("/{execution_id}/logs")
async def get_logs(
    execution_id: UUID,
    svc: Deps,
    step: str | None = None,
    after: Annotated[int, Query(ge=0, description="the id of the last line already seen")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        lines = await logs.page(conn, execution_id, step, after, limit)
    more = len(lines) == limit
    return {"items": lines, "next_cursor": lines[-1]["id"] if more else None}
