"""Functions: those live workers serve, and executing one with arguments (kontinue's
"execute a registered function"), no workflow file needed."""

from typing import Annotated, Any

import nats.errors
from fastapi import APIRouter, Body, Header, HTTPException, status

from execflow_catalogue import catalog
from execflow_contracts import (
    ExecutionAccepted,
    ExecutionRequest,
    FunctionCall,
    FunctionList,
    FunctionName,
    WorkflowNotFound,
    WorkflowSpec,
)
from execflow_workflows import templates

from ..functions import served
from ..state import Deps
from ..worker_views import namespace_workers
from .executions import create_execution

router = APIRouter(prefix="/api/v1/functions", tags=["functions"])


@router.get("", response_model=FunctionList)
async def list_functions(svc: Deps) -> dict[str, Any]:
    """The functions live workers serve, by name."""
    try:
        serving = served(await namespace_workers(svc))
    except (nats.errors.Error, TimeoutError) as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"the worker registry is unavailable: {exc!r}"
        ) from None
    functions: dict[str, dict[str, set[str]]] = {}
    for (queue, name), workers in serving.items():
        found = functions.setdefault(name, {"queues": set(), "workers": set()})
        found["queues"].add(queue)
        found["workers"].update(workers)
    return {
        "items": [
            {"name": name, "queues": sorted(f["queues"]), "workers": sorted(f["workers"])}
            for name, f in sorted(functions.items())
        ]
    }


@router.post(
    "/{name}/execute",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExecutionAccepted,
    response_model_exclude_unset=True,
)
async def execute(
    name: FunctionName,
    svc: Deps,
    call: Annotated[FunctionCall | None, Body()] = None,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    """A one-step execution that calls function `name` with `arguments` (its input too).
    A workflow registered under that name runs instead, with them as its input (kontinue
    names both "functions"). A function no live worker serves waits in its queue, and
    the execution says so."""
    call = call or FunctionCall()
    async with svc.pool.connection() as conn:
        registered = await _registered(conn, svc.caller.namespace, name)
    if registered:
        request = ExecutionRequest(
            workflow_id=name, input=call.arguments, metadata=call.metadata, priority=call.priority
        )
    else:
        request = ExecutionRequest(
            workflow=one_step(name, call),
            input=call.arguments,
            metadata=call.metadata,
            priority=call.priority,
        )
    return await create_execution(request, svc, idempotency_key)


def one_step(name: str, call: FunctionCall) -> WorkflowSpec:
    # The arguments are given as they are: a string that looks like a template is not one.
    args = templates.literal(call.arguments)
    step: dict[str, Any] = {"id": name, "run": {"function": name, "args": args}}
    for field in ("queue", "retry", "timeout"):
        value = getattr(call, field)
        if value is not None:
            step[field] = value.model_dump(mode="json") if hasattr(value, "model_dump") else value
    return WorkflowSpec.model_validate({"steps": [step]})


async def _registered(conn: Any, namespace: str, name: str) -> bool:
    try:
        await catalog.get(conn, namespace, name, None)
    except WorkflowNotFound:
        return False
    return True
