"""From an execution request to the CreateExecution command: an ad-hoc workflow is
checked as it is; a registered one is looked up and its input checked against it.

The command carries the whole spec, so the scheduler never reads the catalogue to
run an execution, and a later version never changes one that already runs."""

from uuid import UUID

from execflow_catalogue import catalog
from execflow_contracts import CreateExecution, ExecutionRequest
from execflow_workflows import check_workflow

from .state import Services


async def create_command(
    svc: Services, request: ExecutionRequest, execution_id: UUID
) -> CreateExecution:
    if request.workflow is not None:
        check_workflow(request.workflow)
        return CreateExecution(
            execution_id=execution_id,
            workflow=request.workflow,
            input=request.input,
            metadata=request.metadata,
            priority=request.priority,
            actor="api",
        )
    assert request.workflow_id is not None  # the request's own validator says so
    async with svc.pool.connection() as conn:
        registered = await catalog.get(
            conn, svc.caller.namespace, request.workflow_id, request.version
        )
    return registered.execution(
        execution_id, request.input, request.metadata, request.priority, actor="api"
    )
