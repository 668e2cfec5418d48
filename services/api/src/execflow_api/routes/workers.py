"""Workers: the live runners, as they register themselves in the worker registry."""

import nats.errors
from fastapi import APIRouter, HTTPException, status

from execflow_contracts import WorkerList

from ..state import Deps
from ..worker_views import namespace_workers

router = APIRouter(prefix="/api/v1/workers", tags=["workers"])


@router.get("")
async def list_workers(svc: Deps) -> WorkerList:
    """Runners that heartbeated within the registry's TTL and serve one of the caller's
    namespace's queues, by id."""
    try:
        workers = await namespace_workers(svc)
    except (nats.errors.Error, TimeoutError) as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"the worker registry is unavailable: {exc!r}"
        ) from None
    return WorkerList(items=workers)
