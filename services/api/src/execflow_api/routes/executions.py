"""Executions: create (a command) and read (the projections)."""

from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, status

from execflow_contracts import CreateExecution, ExecutionRequest, ExecutionStatus

from .. import presenters, queries
from ..commands import send
from ..state import Deps

router = APIRouter(prefix="/api/v1/executions", tags=["executions"])


@router.post("", status_code=status.HTTP_202_ACCEPTED)
async def create_execution(request: ExecutionRequest, svc: Deps) -> dict[str, Any]:
    """Accept an execution: answered once the command is stored on the bus."""
    execution_id = uuid4()
    await send(
        svc,
        CreateExecution(
            execution_id=execution_id,
            workflow=request.workflow,
            input=request.input,
            metadata=request.metadata,
            actor="api",
        ),
    )
    return {
        "id": str(execution_id),
        "status": ExecutionStatus.PENDING,
        "links": presenters.links(execution_id),
    }


@router.get("/{execution_id}")
async def get_execution(execution_id: UUID, svc: Deps) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        return presenters.execution(await queries.get_execution(conn, execution_id))


@router.get("/{execution_id}/transitions")
async def get_transitions(execution_id: UUID, svc: Deps) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        return {"items": await queries.transitions(conn, execution_id)}
