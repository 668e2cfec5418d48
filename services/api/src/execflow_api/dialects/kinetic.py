"""Kinetic's API as its clients call it: `POST /api/workflows/{id}/execute`,
`GET /api/executions/{id}`, `POST /api/executions/{id}/retry`.

Its execution answer carries Kinetic's names (`execution_uuid`, `input_payload`, its
five statuses) and absolute `output_url`, `video_url`, `logs_url`, as Kinetic gives them;
`logs` holds the first page of log lines, `logs_next_url` the rest. execflow's own status
is kept beside Kinetic's (`execflow_status`): Kinetic has no word for a cancelled run.
"""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4, uuid5

from fastapi import APIRouter, Body, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from execflow_contracts import BoundedJson, ExecutionRequest, ExecutionStatus, WorkflowId

from .. import logs, presenters, queries
from ..commands import send
from ..launch import create_command
from ..routes.lifecycle import retry as retry_execution
from ..state import Deps
from .common import absolute

router = APIRouter(prefix="/api", tags=["dialect: Kinetic"])

KineticStatus = Literal["pending", "queued", "running", "paused", "completed", "failed"]
STATUS: dict[ExecutionStatus, KineticStatus] = {
    ExecutionStatus.PENDING: "pending",
    ExecutionStatus.QUEUED: "queued",
    ExecutionStatus.BACKOFF: "queued",  # queued again once its wait is over
    # Kinetic runs an execution once a worker took it: execflow's `starting`.
    ExecutionStatus.STARTING: "running",
    ExecutionStatus.RUNNING: "running",
    ExecutionStatus.CANCELLING: "running",
    ExecutionStatus.AWAITING_INPUT: "paused",
    ExecutionStatus.COMPLETED: "completed",
    ExecutionStatus.FAILED: "failed",
    ExecutionStatus.CANCELLED: "failed",
    ExecutionStatus.TIMED_OUT: "failed",
}
# A registered workflow's versions get stable ids, as Kinetic's versions have.
VERSIONS = UUID("0b4c58b9-7d0e-4a51-8f3c-6e1f2a9d5c10")
LOG_PAGE = 1000


class KineticExecute(BaseModel):
    """The body of Kinetic's execute."""

    model_config = ConfigDict(extra="forbid")

    input_payload: BoundedJson = Field(default=None, alias="inputPayload")


class KineticExecution(BaseModel):
    """Kinetic's `ExecutionResponse`, with the execution's logs."""

    execution_uuid: UUID
    workflow_version_uuid: UUID | None
    created_at: datetime | None
    updated_at: datetime | None
    workflow_uuid: str | None
    workflow_name: str | None
    status: KineticStatus
    execflow_status: ExecutionStatus
    input_payload: Any = None
    duration_ms: int | None
    n_steps: int | None
    n_agent_actions: int | None
    n_screenshots: int | None
    output_url: str | None
    video_url: str | None
    logs_url: str | None
    logs: list[str] = Field(default_factory=list)
    logs_next_url: str | None = None


class KineticCreated(KineticExecution):
    """What execute answers: the execution, and its id as Kinetic's quickstart reads it."""

    execution_id: UUID = Field(serialization_alias="executionId")


def version_uuid(workflow_id: str | None, version: int | None) -> UUID | None:
    if workflow_id is None or version is None:
        return None
    return uuid5(VERSIONS, f"{workflow_id}:{version}")


def kinetic(row: dict[str, Any], request: Request) -> dict[str, Any]:
    """An execution's read model in Kinetic's words."""
    body = presenters.execution(row)
    return {
        "execution_uuid": row["id"],
        "workflow_version_uuid": version_uuid(row["workflow_id"], row["workflow_version"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "workflow_uuid": row["workflow_id"],
        "workflow_name": row["name"],
        "status": STATUS[ExecutionStatus(row["status"])],
        "execflow_status": row["status"],
        "input_payload": row["input"],
        "duration_ms": body["duration_ms"],
        "n_steps": row["n_steps"],
        "n_agent_actions": row["n_agent_actions"],
        "n_screenshots": row["n_screenshots"],
        **{key: absolute(request, body.get(key)) for key in ("output_url", "video_url")},
        "logs_url": absolute(request, body["logs_url"]),
    }


async def read(svc: Deps, execution_id: UUID, request: Request) -> KineticExecution:
    async with svc.pool.connection() as conn:
        row = await queries.get_execution(conn, execution_id, svc.caller.namespace)
        lines = await logs.lines_after(conn, execution_id, None, 0, LOG_PAGE)
    body = kinetic(row, request)
    body["logs"] = [line["line"] for line in lines]
    if len(lines) == LOG_PAGE:
        path = f"{presenters.links(execution_id)['logs']}?after={lines[-1]['id']}"
        body["logs_next_url"] = absolute(request, path)
    return KineticExecution.model_validate(body)


@router.post(
    "/workflows/{workflow_id}/execute",
    status_code=status.HTTP_201_CREATED,
    response_model=KineticCreated,
    response_model_by_alias=True,
)
async def execute(
    workflow_id: WorkflowId,
    svc: Deps,
    request: Request,
    body: Annotated[KineticExecute | None, Body()] = None,
) -> KineticCreated:
    """Run the latest version of a registered workflow with `inputPayload` as its input."""
    payload = body.input_payload if body else None
    request_body = ExecutionRequest(workflow_id=workflow_id, input=payload)
    command = await create_command(svc, request_body, uuid4())
    await send(svc, command)
    now = datetime.now(UTC)
    created = {
        "execution_uuid": command.execution_id,
        "execution_id": command.execution_id,
        "workflow_version_uuid": version_uuid(workflow_id, command.workflow_version),
        "created_at": now,
        "updated_at": now,
        "workflow_uuid": workflow_id,
        "workflow_name": workflow_id,
        "status": STATUS[ExecutionStatus.PENDING],
        "execflow_status": ExecutionStatus.PENDING,
        "input_payload": payload,
        "duration_ms": None,
        "n_steps": len(command.spec.steps),
        "n_agent_actions": 0,
        "n_screenshots": 0,
        "output_url": None,
        "video_url": None,
        "logs_url": None,
    }
    return KineticCreated.model_validate(created)


@router.get("/executions/{execution_uuid}", response_model=KineticExecution)
async def get_execution(execution_uuid: UUID, svc: Deps, request: Request) -> KineticExecution:
    """Status, counts, absolute URLs and the first page of its logs."""
    return await read(svc, execution_uuid, request)


@router.post(
    "/executions/{execution_uuid}/retry",
    status_code=status.HTTP_201_CREATED,
    response_model=KineticExecution,
)
async def retry(
    execution_uuid: UUID, svc: Deps, request: Request, response: Response
) -> KineticExecution:
    """Clone the execution, stop it if it still runs, and queue the clone."""
    original = await read(svc, execution_uuid, request)
    accepted = await retry_execution(execution_uuid, svc)
    response.headers["Location"] = absolute(request, f"/api/executions/{accepted['id']}") or ""
    now = datetime.now(UTC)
    return original.model_copy(
        update={
            "execution_uuid": UUID(accepted["id"]),
            "created_at": now,
            "updated_at": now,
            "status": STATUS[ExecutionStatus.PENDING],
            "execflow_status": ExecutionStatus.PENDING,
            "duration_ms": None,
            "n_agent_actions": 0,
            "n_screenshots": 0,
            "output_url": None,
            "video_url": None,
            "logs_url": None,
            "logs": [],
            "logs_next_url": None,
        }
    )
