"""Secrets of the caller's namespace: `PUT` (admin) seals a value, `GET` lists names and
dates (operator: who runs the workflows that name them), `DELETE` (admin). No route ever
answers a value: the runners open them as a step starts."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from execflow_catalogue import secrets
from execflow_contracts import SecretList, SecretName, SecretNotFound, SecretRequest, SecretView

from ..state import Deps

router = APIRouter(prefix="/api/v1/secrets", tags=["secrets"])

Name = Annotated[SecretName, Path(description="the name steps give as `{secret: NAME}`")]


@router.put("/{name}", response_model=SecretView)
async def set_secret(name: Name, request: SecretRequest, svc: Deps) -> dict[str, Any]:
    """Set (or replace) a secret; its value is stored encrypted and never shown again."""
    caller = svc.caller
    async with svc.pool.connection() as conn:
        return await secrets.put(
            conn, svc.secrets_key, caller.namespace, name, request.value, caller.actor
        )


@router.get("", response_model=SecretList)
async def list_secrets(svc: Deps) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        return {"items": await secrets.listed(conn, svc.caller.namespace)}


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_secret(name: Name, svc: Deps) -> Response:
    """Steps that name it fail to start from now on."""
    async with svc.pool.connection() as conn:
        if not await secrets.delete(conn, svc.caller.namespace, name):
            raise SecretNotFound(f"namespace {svc.caller.namespace!r} has no secret {name!r}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
