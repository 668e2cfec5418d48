"""`/api/v1/keys` and `/api/v1/namespaces` (admin), and `/api/v1/whoami` (any key).

An admin manages the keys of its own namespace; an admin of `default` (the deployment's:
`execflow up` makes the first one) also makes namespaces and keys for any of them."""

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status

from execflow_contracts import (
    Forbidden,
    KeyCreated,
    KeyList,
    KeyRequest,
    NamespaceList,
    NamespaceRequest,
    NamespaceView,
    Role,
    WhoAmI,
)

from ..state import Deps
from . import store
from .caller import Caller
from .guard import Authenticator

router = APIRouter(prefix="/api/v1", tags=["access"])


def refused(exc: store.AccessRefused) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, str(exc))


def target_namespace(caller: Caller, asked: str | None) -> str:
    namespace = asked or caller.namespace
    if namespace != caller.namespace and not caller.deployment_admin:
        raise Forbidden(
            f"an admin of namespace {caller.namespace!r} manages its own keys only,"
            f" not those of {namespace!r}"
        )
    return namespace


@router.get("/whoami", response_model=WhoAmI)
async def whoami(request: Request, svc: Deps) -> dict[str, Any]:
    """The key that asks: its id, namespace and role; `auth` is `off` when anyone may."""
    authenticator: Authenticator = request.app.state.authenticator
    caller = svc.caller
    return {
        "key_id": caller.key_id,
        "namespace": caller.namespace,
        "role": caller.role.value,
        "auth": "on" if authenticator.enabled else "off",
    }


@router.post("/keys", status_code=status.HTTP_201_CREATED, response_model=KeyCreated)
async def create_key(body: KeyRequest, svc: Deps) -> dict[str, Any]:
    """A new key; its whole secret is in this answer only (stored as a hash)."""
    namespace = target_namespace(svc.caller, body.namespace)
    if (body.role is Role.AGENT) != bool(body.queues):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "an agent token names the queues it may claim (`queues`); other keys name none",
        )
    async with svc.pool.connection() as conn:
        try:
            token, row = await store.create_key(
                conn, namespace, body.role, body.name, body.queues, svc.caller.actor
            )
        except store.AccessRefused as exc:
            raise refused(exc) from None
    return row | {"key": str(token)}


@router.get("/keys", response_model=KeyList)
async def list_keys(svc: Deps) -> dict[str, Any]:
    """The keys of this namespace (of every namespace, for an admin of `default`)."""
    scope = None if svc.caller.deployment_admin else svc.caller.namespace
    async with svc.pool.connection() as conn:
        return {"items": await store.list_keys(conn, scope)}


@router.delete("/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_key(key_id: str, request: Request, svc: Deps) -> Response:
    """Revoked at once here; other API processes stop taking it within 30 s."""
    scope = None if svc.caller.deployment_admin else svc.caller.namespace
    async with svc.pool.connection() as conn:
        if not await store.revoke_key(conn, key_id, scope):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no live key {key_id} here")
    authenticator: Authenticator = request.app.state.authenticator
    authenticator.forget(key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def deployment_admin(caller: Caller) -> None:
    if not caller.deployment_admin:
        raise Forbidden("namespaces are made by an admin of the `default` namespace")


@router.post("/namespaces", status_code=status.HTTP_201_CREATED, response_model=NamespaceView)
async def create_namespace(body: NamespaceRequest, svc: Deps) -> dict[str, Any]:
    deployment_admin(svc.caller)
    async with svc.pool.connection() as conn:
        try:
            return await store.create_namespace(conn, body.name, body.retention_s)
        except store.AccessRefused as exc:
            raise refused(exc) from None


@router.get("/namespaces", response_model=NamespaceList)
async def list_namespaces(svc: Deps) -> dict[str, Any]:
    deployment_admin(svc.caller)
    async with svc.pool.connection() as conn:
        return {"items": await store.list_namespaces(conn)}
