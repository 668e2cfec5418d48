"""Environments: the containers (networks, volumes) execflow runs on the Docker engine."""

import functools
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status

from execflow_contracts import EnvironmentList

from .. import environments
from ..state import Deps

router = APIRouter(prefix="/api/v1/environments", tags=["environments"])


@router.get("", response_model=EnvironmentList, response_model_exclude_unset=True)
async def list_environments(svc: Deps) -> dict[str, Any]:
    """This deployment's containers, networks and volumes of the caller's namespace, with
    their execution and step."""
    items = await svc.docker.call(
        functools.partial(
            environments.list_environments,
            deployment=svc.topology.prefix,
            namespace=svc.caller.namespace,
        )
    )
    return {"items": items}


@router.delete("/{environment_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_environment(environment_id: str, svc: Deps) -> Response:
    """Remove one (a running step's container is killed, and its step fails)."""
    removed = await svc.docker.call(
        functools.partial(
            environments.remove_environment,
            deployment=svc.topology.prefix,
            namespace=svc.caller.namespace,
            ident=environment_id,
        )
    )
    if removed is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no execflow environment {environment_id!r}"
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
