"""Julep's executions API, under `/julep` (a Julep client's base URL is
`http://<execflow>/julep`; Kinetic's paths own `/api/executions/{id}`).

A task is a registered workflow (`task_id` = its id). Statuses are Julep's: `succeeded`
for completed, `starting` while a runner prepares the first step; `?status=` takes them.
`PUT /executions/{id}` is change_status: `cancelled` cancels, `running` with an `input`
moves a waiting execution on. Transitions keep execflow's own move in their metadata.
"""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4, uuid5

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from execflow_contracts import (
    BoundedJsonObject,
    ChangeStatusRequest,
    ExecutionRequest,
    ExecutionStatus,
    InvalidInput,
    TransitionType,
    WorkflowId,
)

from .. import queries
from ..commands import send
from ..launch import create_command
from ..listing import Filters, Page, list_executions
from ..routes.lifecycle import change_status as change_execution_status
from ..state import Deps

router = APIRouter(prefix="/julep", tags=["dialect: Julep"])

JulepStatus = Literal[
    "queued", "starting", "running", "awaiting_input", "succeeded", "failed", "cancelled"
]
STATUS: dict[ExecutionStatus, JulepStatus] = {
    ExecutionStatus.PENDING: "queued",
    ExecutionStatus.QUEUED: "queued",
    ExecutionStatus.STARTING: "starting",
    ExecutionStatus.RUNNING: "running",
    ExecutionStatus.BACKOFF: "running",  # a step waits to retry: the execution runs on
    ExecutionStatus.CANCELLING: "running",  # until its steps have stopped
    ExecutionStatus.AWAITING_INPUT: "awaiting_input",
    ExecutionStatus.COMPLETED: "succeeded",
    ExecutionStatus.FAILED: "failed",
    ExecutionStatus.TIMED_OUT: "failed",
    ExecutionStatus.CANCELLED: "cancelled",
}
JulepTransitionType = Literal[
    "init", "branch_init", "finish", "finish_branch", "wait", "resume", "error", "step", "cancelled"
]
TRANSITION: dict[TransitionType, JulepTransitionType] = {
    TransitionType.INIT: "init",
    TransitionType.QUEUE: "init",
    TransitionType.START: "step",
    TransitionType.STEP: "step",
    TransitionType.RETRY: "step",
    TransitionType.WAIT: "wait",
    TransitionType.RESUME: "resume",
    TransitionType.FINISH: "finish",
    TransitionType.ERROR: "error",
    TransitionType.TIMEOUT: "error",
    TransitionType.CANCEL: "cancelled",
}
# Offset paging reads the pages before the one asked for: bounded.
MAX_OFFSET = 10_000


def execflow_statuses(julep: JulepStatus) -> list[str]:
    """The execflow statuses a Julep status stands for."""
    return [ours.value for ours, theirs in STATUS.items() if theirs == julep]


class JulepCreateExecution(BaseModel):
    """Julep's CreateExecutionRequest (the task is in the path)."""

    model_config = ConfigDict(extra="forbid")

    input: BoundedJsonObject
    metadata: BoundedJsonObject | None = None


class JulepExecution(BaseModel):
    id: UUID
    task_id: str | None
    status: JulepStatus
    input: Any = None
    output: Any = None
    error: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime


class JulepExecutionList(BaseModel):
    items: list[JulepExecution]


class JulepUpdateExecution(BaseModel):
    """Julep's UpdateExecutionRequest: stop (`cancelled`, `reason`) or resume (`running`,
    `input`)."""

    model_config = ConfigDict(extra="forbid")

    status: JulepStatus
    reason: str | None = None
    input: BoundedJsonObject | None = None


class JulepUpdated(BaseModel):
    """Julep's ResourceUpdatedResponse."""

    id: UUID
    updated_at: datetime
    jobs: list[UUID] = Field(default_factory=list)


class JulepTransition(BaseModel):
    id: UUID
    execution_id: UUID
    type: JulepTransitionType
    output: Any = None
    # Julep's workflow position; execflow's moves are the execution's, not a step's.
    current: dict[str, Any] | None = None
    next: dict[str, Any] | None = None
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, Any]


class JulepTransitionList(BaseModel):
    items: list[JulepTransition]


def julep(row: dict[str, Any]) -> JulepExecution:
    ours = ExecutionStatus(row["status"])
    failed = ours in (ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT)
    return JulepExecution(
        id=row["id"],
        task_id=row["workflow_id"],
        status=STATUS[ours],
        input=row["input"],
        output=row["output"],
        error=row["message"] if failed else None,
        metadata=row["metadata"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def page_of(
    svc: Deps, task_id: str | None, julep_status: JulepStatus | None, limit: int, offset: int
) -> JulepExecutionList:
    if offset + limit > MAX_OFFSET:
        reason = f"offset + limit is at most {MAX_OFFSET}: narrow the listing with ?status="
        raise InvalidInput(reason)
    statuses = execflow_statuses(julep_status) if julep_status else []
    filters = Filters(statuses=statuses, workflow_id=task_id, namespace=svc.caller.namespace)
    async with svc.pool.connection() as conn:
        rows, _ = await list_executions(conn, filters, Page(limit=offset + limit))
    return JulepExecutionList(items=[julep(row) for row in rows[offset:]])


Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0)]


@router.post(
    "/tasks/{task_id}/executions",
    status_code=status.HTTP_201_CREATED,
    response_model=JulepExecution,
)
async def create(task_id: WorkflowId, request: JulepCreateExecution, svc: Deps) -> JulepExecution:
    """Execute a task (a registered workflow) with `input` and `metadata`."""
    body = ExecutionRequest(
        workflow_id=task_id, input=request.input, metadata=request.metadata or {}
    )
    command = await create_command(svc, body, uuid4())
    await send(svc, command)
    now = datetime.now(UTC)
    return JulepExecution(
        id=command.execution_id,
        task_id=task_id,
        status="queued",
        input=request.input,
        metadata=command.metadata,
        created_at=now,
        updated_at=now,
    )


@router.get("/tasks/{task_id}/executions", response_model=JulepExecutionList)
async def list_task_executions(
    task_id: WorkflowId,
    svc: Deps,
    status_: Annotated[JulepStatus | None, Query(alias="status")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> JulepExecutionList:
    """The task's executions, newest first; `?status=succeeded` and the others as Julep
    names them."""
    return await page_of(svc, task_id, status_, limit, offset)


@router.get("/executions", response_model=JulepExecutionList)
async def list_all(
    svc: Deps,
    status_: Annotated[JulepStatus | None, Query(alias="status")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> JulepExecutionList:
    """Every task's executions, newest first, by Julep's status."""
    return await page_of(svc, None, status_, limit, offset)


@router.get("/executions/{execution_id}", response_model=JulepExecution)
async def get(execution_id: UUID, svc: Deps) -> JulepExecution:
    async with svc.pool.connection() as conn:
        return julep(await queries.get_execution(conn, execution_id, svc.caller.namespace))


@router.put("/executions/{execution_id}", response_model=JulepUpdated)
async def change_status(
    execution_id: UUID, request: JulepUpdateExecution, svc: Deps
) -> JulepUpdated:
    """Cancel (`{"status": "cancelled", "reason": …}`), or move a waiting execution on
    (`{"status": "running", "input": {…}}`)."""
    # Julep's words for the two statuses one can ask for are execflow's.
    change = ChangeStatusRequest(
        status=request.status, reason=request.reason or "", input=request.input
    )
    await change_execution_status(execution_id, change, svc)
    return JulepUpdated(id=execution_id, updated_at=datetime.now(UTC))


@router.get("/executions/{execution_id}/transitions", response_model=JulepTransitionList)
async def transitions(
    execution_id: UUID, svc: Deps, limit: Limit = 100, offset: Offset = 0
) -> JulepTransitionList:
    """Every move of the execution, oldest first."""
    async with svc.pool.connection() as conn:
        moves = await queries.transitions(conn, execution_id, svc.caller.namespace)
    return JulepTransitionList(items=[transition(execution_id, m) for m in moves[offset:][:limit]])


def transition(execution_id: UUID, move: dict[str, Any]) -> JulepTransition:
    kind = TransitionType(move["type"])
    return JulepTransition(
        id=uuid5(execution_id, str(move["version"])),
        execution_id=execution_id,
        type=TRANSITION[kind],
        created_at=move["at"],
        updated_at=move["at"],
        metadata={
            "execflow_type": kind.value,
            "from": move["from"],
            "to": move["to"],
            "reason": move["reason"],
            "actor": move["actor"],
        },
    )
