"""Remote agents: claim work, hold its lease, stream logs and facts, complete it.

Every report carries the job's lease token; a report whose lease expired is a 409
(the step may already run elsewhere), one for a job not held here a 404."""

from typing import Any

from fastapi import APIRouter, Response, status

from execflow_contracts import (
    Claim,
    ClaimRequest,
    CompleteRequest,
    EventsRequest,
    JobSignals,
    LeaseRequest,
    LogsRequest,
    SignalsRequest,
)

from ..state import Deps

router = APIRouter(prefix="/api/v1/agent-control", tags=["agents"])


@router.post("/claims/next", response_model=Claim, responses={204: {"description": "no work"}})
async def claim_next(request: ClaimRequest, svc: Deps) -> Any:
    """Long-poll up to `wait` seconds for a step on `queues`."""
    lease = await svc.agents.claim(request.agent, request.queues, request.capacity, request.wait)
    if lease is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return Claim(
        id=lease.job_id,
        lease_token=lease.token,
        lease_expires_at=lease.expires_at,
        lease_s=svc.agents.leases.lease_s,
        step=lease.work,
    )


@router.post("/jobs/{job_id}/lease")
async def extend_lease(job_id: str, request: LeaseRequest, svc: Deps) -> dict[str, Any]:
    """Hold the job longer; the answer also carries its signals."""
    lease = await svc.agents.extend(job_id, request.lease_token)
    return {"id": job_id, "lease_expires_at": lease.expires_at, "signals": lease.signals()}


@router.post("/jobs/{job_id}/signals", response_model=JobSignals)
async def job_signals(job_id: str, request: SignalsRequest, svc: Deps) -> JobSignals:
    """Long-poll up to `wait` seconds for what the agent must act on: stop the step (a
    cancel or a timeout), or hand it the answer to its question."""
    return await svc.agents.signals(job_id, request.lease_token, request.wait)


@router.post("/jobs/{job_id}/logs")
async def post_logs(job_id: str, request: LogsRequest, svc: Deps) -> dict[str, Any]:
    await svc.agents.logs(job_id, request.lease_token, request.lines)
    return {"accepted": len(request.lines)}


@router.post("/jobs/{job_id}/events")
async def post_events(job_id: str, request: EventsRequest, svc: Deps) -> dict[str, Any]:
    ignored = await svc.agents.events(job_id, request.lease_token, request.events)
    return {"accepted": len(request.events) - len(ignored), "ignored": ignored}


@router.post("/jobs/{job_id}/complete")
async def complete(job_id: str, request: CompleteRequest, svc: Deps) -> dict[str, Any]:
    await svc.agents.complete(job_id, request.lease_token, request)
    return {"id": job_id, "accepted": True}
