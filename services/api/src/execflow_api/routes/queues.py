"""Queue limits: how many steps of a queue run at once; the scheduler holds back the
rest and releases the highest priority first. A queue is its namespace's: a key sets and
sees the limits of its own namespace's queues."""

from typing import Any

from fastapi import APIRouter

from execflow_catalogue import queues
from execflow_contracts import (
    QueueLimit,
    QueueLimitList,
    QueueLimitView,
    QueueName,
    queue_key,
    split_queue_key,
)

from ..state import Deps

router = APIRouter(prefix="/api/v1/queues", tags=["queues"])


@router.put("/{queue}", response_model=QueueLimitView)
async def set_limit(queue: QueueName, request: QueueLimit, svc: Deps) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        await queues.set_limit(conn, queue_key(svc.caller.namespace, queue), request.max_running)
    return {"queue": queue, "max_running": request.max_running}


@router.get("", response_model=QueueLimitList)
async def list_limits(svc: Deps) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        limits = await queues.limits(conn)
    mine = []
    for key, max_running in limits.items():
        namespace, name = split_queue_key(key)
        if namespace == svc.caller.namespace:
            mine.append({"queue": name, "max_running": max_running})
    return {"items": sorted(mine, key=lambda limit: limit["queue"])}
