"""Queue limits: how many steps of a queue run at once; the scheduler holds back the
rest and releases the highest priority first."""

from typing import Any

from fastapi import APIRouter

from execflow_catalogue import queues
from execflow_contracts import QueueLimit, QueueLimitList, QueueLimitView, QueueName

from ..state import Deps

router = APIRouter(prefix="/api/v1/queues", tags=["queues"])


@router.put("/{queue}", response_model=QueueLimitView)
async def set_limit(queue: QueueName, request: QueueLimit, svc: Deps) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        await queues.set_limit(conn, queue, request.max_running)
    return {"queue": queue, "max_running": request.max_running}


@router.get("", response_model=QueueLimitList)
async def list_limits(svc: Deps) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        limits = await queues.limits(conn)
    return {"items": [{"queue": q, "max_running": m} for q, m in sorted(limits.items())]}
