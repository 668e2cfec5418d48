"""Legal holds (admin): an execution held is kept past its time to live (`ttl.delete_after`
or its namespace's retention) until the hold is released; then it expires at once if its
time is past. One execution by id, or every execution a listing's filters match."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Response, status

from execflow_catalogue import holds
from execflow_contracts import ExecutionNotFound, HoldRequest, HoldsMade, HoldView

from .. import queries
from ..listing import Order, Page, SortKey, list_executions
from ..state import Deps
from .listing import ExecutionFilters

router = APIRouter(prefix="/api/v1", tags=["retention"])
# Executions held by one query, at most: hold by narrower filters for more.
MAX_BY_QUERY = 10_000

Reason = Annotated[HoldRequest | None, Body()]


@router.post("/executions/{execution_id}/hold", response_model=HoldView)
async def hold(execution_id: UUID, svc: Deps, request: Reason = None) -> dict[str, Any]:
    reason = request.reason if request else ""
    namespace = svc.caller.namespace
    async with svc.pool.connection() as conn:
        await queries.exists(conn, execution_id, namespace)
        await holds.hold(conn, [execution_id], namespace, reason, svc.caller.actor)
        found = await holds.held(conn, execution_id, namespace)
    assert found is not None
    return found | {"execution_id": str(execution_id)}


@router.get("/executions/{execution_id}/hold", response_model=HoldView)
async def get_hold(execution_id: UUID, svc: Deps) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        found = await holds.held(conn, execution_id, svc.caller.namespace)
    if found is None:
        raise ExecutionNotFound(f"{execution_id} under a hold")
    return found | {"execution_id": str(execution_id)}


@router.delete("/executions/{execution_id}/hold", status_code=status.HTTP_204_NO_CONTENT)
async def release(execution_id: UUID, svc: Deps) -> Response:
    """Released: past its time to live, it expires within a moment."""
    async with svc.pool.connection() as conn:
        if not await holds.release(conn, execution_id, svc.caller.namespace):
            raise ExecutionNotFound(f"{execution_id} under a hold")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/holds", response_model=HoldsMade)
async def hold_by_query(filters: ExecutionFilters, svc: Deps, request: Reason = None) -> Any:
    """Hold every execution the filters of `GET /api/v1/executions` match now (at most
    10,000: narrow the filters for more)."""
    page = Page(sort=SortKey.CREATED, order=Order.ASC, limit=MAX_BY_QUERY)
    async with svc.pool.connection() as conn:
        rows, _ = await list_executions(conn, filters, page)
        ids = [row["id"] for row in rows]
        held = await holds.hold(
            conn, ids, svc.caller.namespace, request.reason if request else "", svc.caller.actor
        )
    return {"matched": len(ids), "held": held}
