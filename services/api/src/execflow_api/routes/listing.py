"""`GET /api/v1/executions`: filtered, sorted, cursor-paged summaries."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status

from execflow_contracts import ExecutionPage, ExecutionStatus

from .. import presenters
from ..auth import Guarded
from ..listing import Filters, InvalidQuery, Order, Page, SortKey, conditions, list_executions
from ..state import Deps

router = APIRouter(prefix="/api/v1/executions", tags=["executions"])

METADATA_PREFIX = "metadata."
# Kubiya's `agent_id` filter is a metadata key like any other.
METADATA_ALIASES = ("agent_id",)


async def execution_filters(
    request: Request,
    caller: Guarded,
    status_: Annotated[list[ExecutionStatus] | None, Query(alias="status")] = None,
    workflow_id: str | None = None,
    queue: str | None = None,
    worker: str | None = None,
    parent_id: UUID | None = None,
    schedule_id: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    finished_after: datetime | None = None,
    finished_before: datetime | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> Filters:
    """The filters of a listing, from its query (a dependency: exports share them),
    refused here with their reason: an export has begun its answer when it reads them."""
    filters = Filters(
        statuses=[s.value for s in status_ or []],
        workflow_id=workflow_id,
        queue=queue,
        worker=worker,
        parent_id=parent_id,
        schedule_id=schedule_id,
        metadata=metadata_filters(request),
        created_after=created_after,
        created_before=created_before,
        finished_after=finished_after,
        finished_before=finished_before,
        q=q,
        namespace=caller.namespace,
    )
    try:
        conditions(filters)
    except InvalidQuery as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    return filters


ExecutionFilters = Annotated[Filters, Depends(execution_filters)]


@router.get("", response_model=ExecutionPage)
async def list_(
    filters: ExecutionFilters,
    svc: Deps,
    sort: SortKey = SortKey.CREATED,
    order: Order = Order.DESC,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Response:
    """Newest first by default. Filter by metadata with `metadata.<key>=<value>`
    (several allowed, all must match); `next_cursor` fetches the next page."""
    page = Page(sort=sort, order=order, limit=limit, cursor=cursor)
    try:
        async with svc.pool.connection() as conn:
            rows, next_cursor = await list_executions(conn, filters, page)
    except InvalidQuery as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    page_body = {"items": [presenters.summary(r) for r in rows], "next_cursor": next_cursor}
    return presenters.encoded(page_body)


def metadata_filters(request: Request) -> dict[str, str]:
    params = request.query_params
    found = {
        k.removeprefix(METADATA_PREFIX): params[k] for k in params if k.startswith("metadata.")
    }
    found |= {k: params[k] for k in METADATA_ALIASES if k in params}
    return found
