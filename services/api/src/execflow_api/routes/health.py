"""Liveness and readiness, per dependency."""

import asyncio

from fastapi import APIRouter, Response

from execflow_contracts import Health, Readiness

from ..dialects.testplatform import readiness
from ..state import Deps

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", responses={503: {"model": Readiness, "description": "not ready"}})
async def readyz(svc: Deps, response: Response) -> Readiness:
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
    return Readiness(ready=ready, checks=checks, live_streams=live, platform=found)
