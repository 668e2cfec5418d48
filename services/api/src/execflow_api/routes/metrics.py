"""`GET /api/v1/metrics`: throughput, success rate, durations and queue wait per bucket."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from execflow_contracts import MetricsReport

from ..listing import utc
from ..metrics import Bucket, GroupBy, metrics, worker_utilisation
from ..state import Deps
from ..worker_views import namespace_workers

router = APIRouter(prefix="/api/v1", tags=["metrics"])

MAX_BUCKETS = 10_000
BUCKET_LENGTH = {
    Bucket.MINUTE: timedelta(minutes=1),
    Bucket.HOUR: timedelta(hours=1),
    Bucket.DAY: timedelta(days=1),
}


@router.get("/metrics", response_model=MetricsReport, response_model_exclude_unset=True)
async def get_metrics(
    svc: Deps,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: datetime | None = None,
    bucket: Bucket = Bucket.HOUR,
    group_by: GroupBy | None = None,
    workflow_id: str | None = None,
    queue: str | None = None,
) -> dict[str, Any]:
    """Per bucket (UTC) of `[from, to)` — by default the last 24 hours — and group:
    executions started, completed, failed, cancelled, timed out; success rate of those
    that ended; duration min/avg/p50/p95/max and queue wait avg/p95, in ms (from the
    rollup: buckets are whole, percentiles read from fixed-bucket histograms), only of
    `workflow_id` and `queue` when given. And per worker, its utilisation over the whole
    window: steps running on average / capacity."""
    end = utc(to) if to else datetime.now(UTC)
    start = utc(from_) if from_ else end - timedelta(days=1)
    if start >= end:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "`from` must be before `to`")
    if (end - start) / BUCKET_LENGTH[bucket] > MAX_BUCKETS:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"more than {MAX_BUCKETS} {bucket.value} buckets: choose a larger bucket",
        )
    live = await namespace_workers(svc)
    async with svc.pool.connection() as conn:
        items = await metrics(
            conn, start, end, bucket, group_by, workflow_id, queue, svc.caller.namespace
        )
        capacity = {w.id: w.capacity for w in live}
        workers = await worker_utilisation(conn, start, end, capacity, svc.caller.namespace)
    return {
        "from": start,
        "to": end,
        "bucket": bucket,
        "group_by": group_by,
        "items": items,
        "workers": workers,
    }
