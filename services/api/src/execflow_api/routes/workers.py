"""Workers: the live runners, as they register themselves in the worker registry."""

import nats.errors
from fastapi import APIRouter, HTTPException, status

from execflow_contracts import WorkerList
from execflow_platform import live_workers

from ..state import Deps

router = APIRouter(prefix="/api/v1/workers", tags=["workers"])


@router.get("")
async def list_workers(svc: Deps) -> WorkerList:
    """Runners that heartbeated within the registry's TTL, by id."""
    try:
        workers = await live_workers(svc.js, svc.topology)
    except (nats.errors.Error, TimeoutError) as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"the worker registry is unavailable: {exc!r}"
        ) from None
    return WorkerList(items=workers)
