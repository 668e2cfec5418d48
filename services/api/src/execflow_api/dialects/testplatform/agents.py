"""The test platform's agents call `/agent-control/...`: the same routes as execflow's
`/api/v1/agent-control/...` (registration, claims, leases, reports), under its prefix.
Left out of the OpenAPI document, which describes each operation once."""

from fastapi import APIRouter

from ...routes import agents

router = APIRouter(prefix="/agent-control", include_in_schema=False)
router.include_router(agents.routes)
