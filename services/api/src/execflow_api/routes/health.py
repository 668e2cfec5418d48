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
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)
