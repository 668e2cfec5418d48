"""Secrets of the caller's namespace: `PUT` (admin) seals a value, `GET` lists names and
dates (operator: who runs the workflows that name them), `DELETE` (admin). No route ever
answers a value: the runners open them as a step starts. `POST /rotate` re-seals every
namespace's under the current key: the key is the deployment's, so is that act."""

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from execflow_catalogue import secrets
from execflow_contracts import (
    Forbidden,
    SecretList,
    SecretName,
    SecretNotFound,
    SecretRequest,
    SecretsRotated,
    SecretView,
)

from ..state import Deps

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/secrets", tags=["secrets"])

Name = Annotated[SecretName, Path(description="the name steps give as `{secret: NAME}`")]


@router.post("/rotate", response_model=SecretsRotated)
async def rotate_secrets(svc: Deps) -> dict[str, Any]:
    """Re-seal every secret of every namespace under the current key
    (`EXECFLOW_SECRETS_KEY`), opening each with the key it was sealed with (current, or
    one of `EXECFLOW_SECRETS_OLD_KEYS`), in one transaction. Those under the current key
    already are left: calling it again changes nothing. If any opens with no key here, a
    409 names each and nothing is written. An admin of `default` only (the key, and so
    its rotation, is the deployment's: a namespace's admin cannot change it)."""
    if not svc.caller.deployment_admin:
        raise Forbidden(
            "rotating the secrets key re-seals every namespace's secrets: it takes an admin"
            " of the `default` namespace"
        )
    async with svc.pool.connection() as conn:
        rotated = await secrets.rotate(conn, svc.secrets_keyring)
    log.info(
        "secrets re-sealed under key %s by %s: %d re-sealed, %d already under it",
        rotated["key_id"],
        svc.caller.actor,
        rotated["resealed"],
        rotated["already_current"],
    )
    return rotated


@router.put("/{name}", response_model=SecretView)
async def set_secret(name: Name, request: SecretRequest, svc: Deps) -> dict[str, Any]:
    """Set (or replace) a secret; its value is stored encrypted and never shown again."""
    caller = svc.caller
    async with svc.pool.connection() as conn:
        return await secrets.put(
            conn, svc.secrets_keyring, caller.namespace, name, request.value, caller.actor
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
