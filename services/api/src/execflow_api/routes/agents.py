"""Remote agents: register, claim work, hold its lease, stream logs and facts, complete it.

Every report carries the job's lease token; a report whose lease expired is a 409
(the step may already run elsewhere), one for a job not held here a 404. The routes are
also served under the test platform's `/agent-control` (see `dialects.testplatform`)."""

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response, status

from execflow_contracts import (
    AgentRegistration,
    Claim,
    ClaimRequest,
    CompleteRequest,
    CompletionAccepted,
    EventsAccepted,
    EventsRequest,
    Forbidden,
    InvalidInput,
    JobSignals,
    LeaseExtended,
    LeaseRequest,
    LogsAccepted,
    LogsRequest,
    Role,
    SignalsRequest,
    StepFact,
    WorkerId,
    WorkerInfo,
    parse_fact,
)

from .. import body_limit
from ..agents.registry import agent_id
from ..auth import Caller
from ..state import Deps

PREFIX = "/api/v1/agent-control"
# Streamed to the artifact store, and bounded there (not by the API's body limit).
UPLOADS = body_limit.pattern(rf"{PREFIX}/jobs/[^/]+/artifacts/[^/]+")
# The routes without their prefix: mounted here, and under the seeds' prefix.
routes = APIRouter(tags=["agents"])


def may_claim(caller: Caller, queues: list[str]) -> None:
    """An agent token claims the queues it was made for only (an admin key, any of its
    namespace's: a key claims only its own namespace's work)."""
    foreign = sorted(set(queues) - set(caller.queues))
    if caller.role is Role.AGENT and foreign:
        raise Forbidden(
            f"agent token {caller.key_id} may claim queues {', '.join(caller.queues)},"
            f" not {', '.join(foreign)}"
        )


@routes.post("/agents", status_code=status.HTTP_201_CREATED, response_model=WorkerInfo)
async def register_agent(
    registration: AgentRegistration, svc: Deps, request: Request
) -> WorkerInfo:
    """List the agent with the runners (`GET /api/v1/workers`, `execflow worker list`)
    while it calls; a first claim registers it too."""
    may_claim(svc.caller, registration.queues)
    host = request.client.host if request.client else None
    return await svc.agents.registry.register(registration, host, svc.caller.namespace)


@routes.delete("/agents/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def deregister_agent(name: WorkerId, svc: Deps) -> Response:
    """The agent stops: unlisted at once rather than after the registry's TTL."""
    await svc.agents.registry.leave(agent_id(svc.caller.namespace, name))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@routes.post("/claims/next", response_model=Claim, responses={204: {"description": "no work"}})
async def claim_next(request: ClaimRequest, svc: Deps, http: Request) -> Any:
    """Long-poll up to `wait` seconds for a step on `queues`."""
    may_claim(svc.caller, request.queues)
    host = http.client.host if http.client else None
    lease = await svc.agents.claim(
        svc.caller.namespace, request.agent, request.queues, request.capacity, request.wait, host
    )
    if lease is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return Claim(
        id=lease.job_id,
        lease_token=lease.token,
        lease_expires_at=lease.expires_at,
        lease_s=svc.agents.leases.lease_s,
        step=lease.work,
        secrets=lease.secrets,
    )


@routes.post("/jobs/{job_id}/lease", response_model=LeaseExtended)
async def extend_lease(job_id: str, request: LeaseRequest, svc: Deps) -> dict[str, Any]:
    """Hold the job longer; the answer also carries its signals."""
    lease = await svc.agents.extend(job_id, request.lease_token)
    return {"id": job_id, "lease_expires_at": lease.expires_at, "signals": lease.signals}


@routes.post("/jobs/{job_id}/signals", response_model=JobSignals)
async def job_signals(job_id: str, request: SignalsRequest, svc: Deps) -> JobSignals:
    """Long-poll up to `wait` seconds for what the agent must act on: stop the step (a
    cancel or a timeout), or hand it the answer to its question."""
    return await svc.agents.signals(job_id, request.lease_token, request.wait)


@routes.post("/jobs/{job_id}/logs", response_model=LogsAccepted)
async def post_logs(job_id: str, request: LogsRequest, svc: Deps) -> dict[str, Any]:
    await svc.agents.logs(job_id, request.lease_token, request.lines)
    return {"accepted": len(request.lines)}


@routes.post("/jobs/{job_id}/events", response_model=EventsAccepted)
async def post_events(job_id: str, request: EventsRequest, svc: Deps) -> dict[str, Any]:
    ignored = await svc.agents.events(job_id, request.lease_token, request.events)
    return {"accepted": len(request.events) - len(ignored), "ignored": ignored}


@routes.post("/jobs/{job_id}/complete", response_model=CompletionAccepted)
async def complete(job_id: str, request: CompleteRequest, svc: Deps) -> dict[str, Any]:
    await svc.agents.complete(job_id, request.lease_token, request)
    return {"id": job_id, "accepted": True}


@routes.put("/jobs/{job_id}/artifacts/{name}", response_model=StepFact)
async def put_artifact(
    job_id: str,
    name: str,
    request: Request,
    svc: Deps,
    lease_token: Annotated[str, Header(alias="Execflow-Lease-Token")],
    kind: Annotated[
        str, Query(description="the artifact's kind: file, screenshot, log, …")
    ] = "file",
    path: Annotated[str | None, Query(description="where the step wrote it")] = None,
    refused: Annotated[
        str | None, Query(description="the agent could not read it: why (send no body)")
    ] = None,
) -> StepFact:
    """Store a file the job's step declared (the body is its content), once the step has
    ended; it is listed as `stored`, or `refused` with the reason (413 over the limit)."""
    try:
        declared = parse_fact(
            {"type": "artifact", "name": name, "path": path or name, "kind": kind}
        )
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return await svc.agents.store_artifact(job_id, lease_token, declared, request.stream(), refused)


router = APIRouter(prefix=PREFIX)
router.include_router(routes)
