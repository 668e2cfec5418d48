"""Commands on an existing execution: cancel, resume, retry, change status.

Each waits for the scheduler's verdict, so an illegal command is a 409 (or 404, 422)
that says why, and nothing is recorded.
"""

import uuid
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, status

from execflow_contracts import (
    CancelExecution,
    CancelRequest,
    ChangeStatusRequest,
    CommandAccepted,
    ExecutionStatus,
    IllegalTransition,
    ResumeExecution,
    ResumeRequest,
    RetryExecution,
    RetryRequest,
)

from .. import presenters
from ..commands import send_and_wait
from ..state import Deps

router = APIRouter(prefix="/api/v1/executions", tags=["lifecycle"])
# A retry's answer also names the original and the new one's status; the others do not.
ACCEPTED: dict[str, Any] = {
    "response_model": CommandAccepted,
    "response_model_exclude_unset": True,
}


def accepted(execution_id: UUID, outcome: object, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(execution_id),
        "accepted": True,
        "applied": outcome is not None,  # False: stored, the scheduler has not answered yet
        "links": presenters.links(execution_id),
        **extra,
    }


@router.post("/{execution_id}/cancel", status_code=status.HTTP_202_ACCEPTED, **ACCEPTED)
async def cancel(
    execution_id: UUID, svc: Deps, request: Annotated[CancelRequest | None, Body()] = None
) -> dict[str, Any]:
    """Stop the execution: queued steps never start, running ones get SIGTERM, then
    SIGKILL after the runner's grace period."""
    reason = request.reason if request else ""
    outcome = await send_and_wait(
        svc,
        CancelExecution(
            execution_id=execution_id, reason=reason, request_id=uuid.uuid4().hex, actor="api"
        ),
    )
    return accepted(execution_id, outcome)


@router.patch("/{execution_id}", status_code=status.HTTP_202_ACCEPTED, **ACCEPTED)
async def change_status(
    execution_id: UUID, request: ChangeStatusRequest, svc: Deps
) -> dict[str, Any]:
    """Julep's change_status: `cancelled` cancels; `running` with an `input` moves a
    waiting execution on (as resume does); no other status can be set by hand."""
    if request.status == ExecutionStatus.CANCELLED:
        return await cancel(execution_id, svc, CancelRequest(reason=request.reason))
    if request.status == ExecutionStatus.RUNNING:
        answer = ResumeRequest(input=request.input, step_id=request.step_id)
        return await resume(execution_id, answer, svc)
    raise IllegalTransition(
        f"an execution's status can only be changed to 'cancelled', or to 'running' with"
        f" the input it waits for, not to {request.status!r}: the lifecycle moves it otherwise"
    )


@router.post("/{execution_id}/resume", status_code=status.HTTP_202_ACCEPTED, **ACCEPTED)
async def resume(execution_id: UUID, request: ResumeRequest, svc: Deps) -> dict[str, Any]:
    """Answer the step that waits for input; the answer must match its schema."""
    outcome = await send_and_wait(
        svc,
        ResumeExecution(
            execution_id=execution_id,
            step_id=request.step_id,
            input=request.input,
            request_id=uuid.uuid4().hex,
            actor="api",
        ),
    )
    return accepted(execution_id, outcome)


@router.post("/{execution_id}/retry", status_code=status.HTTP_202_ACCEPTED, **ACCEPTED)
async def retry(
    execution_id: UUID, svc: Deps, request: Annotated[RetryRequest | None, Body()] = None
) -> dict[str, Any]:
    """A new execution from the same definition and input, linked both ways; a running
    original is cancelled first. `from_step` reuses what succeeded before that step."""
    new_id = uuid.uuid4()
    outcome = await send_and_wait(
        svc,
        RetryExecution(
            execution_id=execution_id,
            new_execution_id=new_id,
            from_step=request.from_step if request else None,
            actor="api",
        ),
    )
    body = accepted(new_id, outcome, retry_of=str(execution_id))
    body["status"] = ExecutionStatus.PENDING
    return body
