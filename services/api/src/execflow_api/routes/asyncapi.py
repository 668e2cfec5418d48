"""The AsyncAPI document of execflow's bus (every subject it reads or publishes, with its
message's schema), beside the OpenAPI one at /docs."""

from functools import lru_cache
from typing import Any

from fastapi import APIRouter

from execflow_contracts import AsyncApiDocument, Topology
from execflow_faststream import document

from ..state import OpenDeps

router = APIRouter(tags=["documents"])


@router.get(
    "/asyncapi",
    summary="The AsyncAPI 3.0 document of execflow's NATS subjects",
    response_model=AsyncApiDocument,
)
async def asyncapi(svc: OpenDeps) -> dict[str, Any]:
    return bus_document(svc.topology.prefix)


@lru_cache(maxsize=4)
def bus_document(prefix: str) -> dict[str, Any]:
    """Made once: it depends on the contracts and the prefix only."""
    return document(Topology(prefix))
