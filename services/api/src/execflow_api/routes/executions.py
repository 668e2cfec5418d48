"""Executions: create (a command) and read (the projections)."""

from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, HTTPException, Query, status

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


@router.get("")
async def list_executions(
    svc: Deps,
    status_: Annotated[list[ExecutionStatus] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        try:
            rows, next_cursor = await queries.list_executions(
                conn, [s.value for s in status_ or []], limit, cursor
            )
        except ValueError as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    return {"items": [presenters.summary(r) for r in rows], "next_cursor": next_cursor}


@router.get("/{execution_id}")
async def get_execution(execution_id: UUID, svc: Deps) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        return presenters.execution(await queries.get_execution(conn, execution_id))


@router.get("/{execution_id}/transitions")
async def get_transitions(execution_id: UUID, svc: Deps) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        return {"items": await queries.transitions(conn, execution_id)}


@router.get("/{execution_id}/logs")
async def get_logs(
    execution_id: UUID,
    svc: Deps,
    step: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        lines = await queries.log_lines(conn, execution_id, step, limit, offset)
    return {"items": lines, "next_offset": offset + len(lines) if len(lines) == limit else None}
