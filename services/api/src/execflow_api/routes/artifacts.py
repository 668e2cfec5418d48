"""Artifacts of an execution: the list, and each file as a streamed download."""

import mimetypes
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from execflow_contracts import ArtifactList

from .. import artifacts, openapi, presenters, queries
from ..state import Deps

router = APIRouter(prefix="/api/v1/executions", tags=["artifacts"])


@router.get(
    "/{execution_id}/artifacts", response_model=ArtifactList, response_model_exclude_unset=True
)
async def list_artifacts(execution_id: UUID, svc: Deps) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        stored = await queries.artifacts(conn, execution_id, svc.caller.namespace)
    base = presenters.links(execution_id)["self"]
    return {"items": [artifacts.present(base, a) for a in stored]}


@router.get(
    "/{execution_id}/artifacts/{name}",
    response_class=StreamingResponse,
    responses=openapi.binary(),
)
async def download_artifact(execution_id: UUID, name: str, svc: Deps) -> StreamingResponse:
    async with svc.pool.connection() as conn:
        stored = await queries.artifacts(conn, execution_id, svc.caller.namespace)
    artifact = artifacts.find(execution_id, stored, name)
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    headers = {"content-disposition": f'attachment; filename="{name}"'}
    if artifact.get("size") is not None:
        headers["content-length"] = str(artifact["size"])
    return StreamingResponse(
        artifacts.chunks(svc.artifacts, artifact["key"]), media_type=media_type, headers=headers
    )
