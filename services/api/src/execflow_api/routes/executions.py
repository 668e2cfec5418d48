"""Executions: create (a command) and read (the projections)."""

import hashlib
import json
from typing import Annotated, Any
from uuid import UUID, uuid4, uuid5

from fastapi import APIRouter, Header, Response, status
from pydantic import Discriminator, Tag

from execflow_contracts import (
    DEFAULT_NAMESPACE,
    ExecutionAccepted,
    ExecutionRequest,
    ExecutionStatus,
    ExecutionView,
    InvalidInput,
    TransitionList,
)

from .. import presenters, queries
from ..commands import send, send_and_wait
from ..dialects import testplatform
from ..dialects.testplatform import LaunchRequest
from ..dialects.testplatform.models import Launched
from ..launch import create_command
from ..state import Deps, Services
from ..waiting import say_unserved, unserved

router = APIRouter(prefix="/api/v1/executions", tags=["executions"])

# Executions created with an Idempotency-Key get an id derived from it.
IDEMPOTENCY_NAMESPACE = UUID("6b1d7f1e-56f4-4d1c-9a51-3f0c0b3e6c11")


def idempotent(key: str, request: ExecutionRequest, namespace: str) -> dict[str, Any]:
    body = json.dumps(request.model_dump(mode="json", by_alias=True), sort_keys=True)
    # The same key in two namespaces names two executions (`default`'s as it always did).
    scoped = key if namespace == DEFAULT_NAMESPACE else f"{namespace}\n{key}"
    return {
        "execution_id": uuid5(IDEMPOTENCY_NAMESPACE, scoped),
        "request_hash": hashlib.sha256(body.encode()).hexdigest(),
        "request_id": uuid4().hex,
    }


def body_kind(body: Any) -> str:
    """Which of the two create bodies this is: the test platform's names a `suiteId`."""
    return "suite" if isinstance(body, dict) and "suiteId" in body else "workflow"


CreateBody = Annotated[
    Annotated[ExecutionRequest, Tag("workflow")] | Annotated[LaunchRequest, Tag("suite")],
    Discriminator(body_kind),
]


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExecutionAccepted | Launched,
    response_model_exclude_unset=True,
)
async def create(
    body: CreateBody,
    svc: Deps,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    """Accept an execution: answered once the command is stored on the bus.

    The body runs a workflow (`workflow`, or `workflow_id`), or launches a test suite as
    the test platform does (`suiteId`, `profile`, `backend`). With an `Idempotency-Key`,
    the same key and body give the same execution, for good; the same key with another
    body is a 409."""
    if isinstance(body, LaunchRequest):
        if idempotency_key is not None:
            raise InvalidInput("a suite launch takes no Idempotency-Key")
        launched = await testplatform.launch(svc, body)
        return launched.model_dump(mode="json", by_alias=True)
    return await create_execution(body, svc, idempotency_key)


async def create_execution(
    request: ExecutionRequest, svc: Services, idempotency_key: str | None = None
) -> dict[str, Any]:
    """The command of an execution request, sent (and, with an idempotency key, its
    verdict awaited)."""
    command = await create_command(svc, request, uuid4())
    if idempotency_key is None:
        await send(svc, command)
    else:
        scoped = idempotent(idempotency_key, request, svc.caller.namespace)
        command = command.model_copy(update=scoped)
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
        row = await queries.get_execution(conn, execution_id, svc.caller.namespace)
    body = presenters.execution(row)
    say_unserved(body, await unserved(svc, row))
    return presenters.encoded(body)


@router.get("/{execution_id}/transitions", response_model=TransitionList)
async def get_transitions(execution_id: UUID, svc: Deps) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        return {"items": await queries.transitions(conn, execution_id, svc.caller.namespace)}
