"""Liveness and readiness, per dependency."""

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ..state import Deps

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(svc: Deps) -> JSONResponse:
    checks: dict[str, Any] = {"nats": "ok" if svc.nc.is_connected else "disconnected"}
    try:
        async with asyncio.timeout(2), svc.pool.connection() as conn:
            await conn.execute("SELECT 1 FROM executions LIMIT 1")
        checks["postgres"] = "ok"
    except Exception as exc:
        checks["postgres"] = f"unavailable: {exc}"
    ready = all(v == "ok" for v in checks.values())
    # Not a condition of readiness: without notices live streams still move, slower.
    feed = svc.changes
    live = "notified" if feed.listening else f"polling every {feed.fallback_s:g} s"
    return JSONResponse(
        {"ready": ready, "checks": checks, "live_streams": live},
        status_code=200 if ready else 503,
    )
