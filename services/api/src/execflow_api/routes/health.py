"""Liveness and readiness, per dependency."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from execflow_contracts import Health, Readiness

from ..auth import Authenticator, Caller, optional_caller
from ..dialects.testplatform import readiness
from ..state import OpenDeps

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", responses={503: {"model": Readiness, "description": "not ready"}})
async def readyz(
    svc: OpenDeps,
    request: Request,
    response: Response,
    caller: Annotated[Caller | None, Depends(optional_caller)],
) -> Readiness:
    """Ready or not, for anyone; what each dependency says, to a key (any role)."""
    checks = {"nats": "ok" if svc.nc.is_connected else "disconnected"}
    try:
        async with asyncio.timeout(2), svc.pool.connection() as conn:
            await conn.execute("SELECT 1 FROM executions LIMIT 1")
        checks["postgres"] = "ok"
    except Exception as exc:
        checks["postgres"] = f"unavailable: {exc}"
    platform, found = await readiness.checks(svc)
    checks |= platform
    ready = all(v == "ok" for k, v in checks.items() if k not in readiness.OPTIONAL)
    response.status_code = 200 if ready else 503
    # Not a condition of readiness: without notices live streams still move, slower.
    feed = svc.changes
    live = "notified" if feed.listening else f"polling every {feed.fallback_s:g} s"
    authenticator: Authenticator = request.app.state.authenticator
    auth = "on" if authenticator.enabled else "off"
    if caller is None:
        return Readiness(ready=ready, checks={}, live_streams="", auth=auth)
    return Readiness(ready=ready, checks=checks, live_streams=live, platform=found, auth=auth)
