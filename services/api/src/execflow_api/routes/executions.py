"""Executions: create (a command) and read (the projections)."""

import hashlib
import json
from typing import Annotated, Any
from uuid import UUID, uuid4, uuid5

from fastapi import APIRouter, Header, Response, status

from execflow_contracts import (
    ExecutionAccepted,
    ExecutionRequest,
    ExecutionStatus,
    ExecutionView,
    TransitionList,
)

from .. import presenters, queries
from ..commands import send, send_and_wait
from ..launch import create_command
from ..state import Deps

router = APIRouter(prefix="/api/v1/executions", tags=["executions"])

# Executions created with an Idempotency-Key get an id derived from it.
IDEMPOTENCY_NAMESPACE = UUID("6b1d7f1e-56f4-4d1c-9a51-3f0c0b3e6c11")


def idempotent(key: str, request: ExecutionRequest) -> dict[str, Any]:
    body = json.dumps(request.model_dump(mode="json", by_alias=True), sort_keys=True)
    return {
        "execution_id": uuid5(IDEMPOTENCY_NAMESPACE, key),
        "request_hash": hashlib.sha256(body.encode()).hexdigest(),
        "request_id": uuid4().hex,
    }


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExecutionAccepted,
    response_model_exclude_unset=True,
)
async def create_execution(
    request: ExecutionRequest,
    svc: Deps,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    """Accept an execution: answered once the command is stored on the bus.

    With an `Idempotency-Key`, the same key and body give the same execution, for
    good; the same key with another body is a 409."""
    command = await create_command(svc, request, uuid4())
    if idempotency_key is None:
        await send(svc, command)
    else:
        command = command.model_copy(update=idempotent(idempotency_key, request))
        await send_and_wait(svc, command)
    execution_id = command.execution_id
    return {
        "id": str(execution_id),
        "status": ExecutionStatus.PENDING,
        "links": presenters.links(execution_id),
    }


@router.get("/{execution_id}", response_model=ExecutionView)
async def get_execution(execution_id: UUID, svc: Deps) -> Response:
    async with svc.pool.connection() as conn:
        row = await queries.get_execution(conn, execution_id)
    return presenters.encoded(presenters.execution(row))


@router.get("/{execution_id}/transitions", response_model=TransitionList)
async def get_transitions(execution_id: UUID, svc: Deps) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        return {"items": await queries.transitions(conn, execution_id)}
