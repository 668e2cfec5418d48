"""Registered workflows: register (JSON or YAML) as a new version, read, execute."""

import asyncio
import json
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Body, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from execflow_catalogue import catalog
from execflow_contracts import (
    MAX_JSON_DEPTH,
    BodyTooLarge,
    ExecuteRequest,
    ExecutionAccepted,
    ExecutionRequest,
    WorkflowDefinition,
    WorkflowId,
    WorkflowList,
    WorkflowRegistered,
    WorkflowView,
)
from execflow_workflows import check_input_schema, check_workflow

from .. import bounded_yaml
from ..state import Deps
from .executions import create_execution

router = APIRouter(prefix="/api/v1/workflows", tags=["workflows"])

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
# The body is parsed by hand (JSON or YAML), so FastAPI does not document its model: its
# schema refers to the document's components, and DEFINITION_SCHEMAS (by name) go there.
_DEFINITION = WorkflowDefinition.model_json_schema(ref_template="#/components/schemas/{model}")
DEFINITION_SCHEMAS = {**_DEFINITION.pop("$defs", {}), "WorkflowDefinition": _DEFINITION}
DEFINITION_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/WorkflowDefinition"}},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}


def parse_definition(raw: bytes, content_type: str) -> WorkflowDefinition:
    """A definition from JSON or YAML (plain data, no objects; its aliases bounded)."""
    try:
        if content_type.split(";", maxsplit=1)[0].strip() in YAML_TYPES:
            data = bounded_yaml.load(raw)
        else:
            data = json.loads(raw)
    except RecursionError:  # deeper than the parsers go; the fields' own limit is lower
        reason = f"malformed body: nested deeper than {MAX_JSON_DEPTH} levels"
        raise HTTPException(status.HTTP_400_BAD_REQUEST, reason) from None
    except bounded_yaml.YamlRefused as exc:
        raise BodyTooLarge(str(exc)) from None
    except (yaml.YAMLError, ValueError) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"malformed body: {exc}") from None
    try:
        return WorkflowDefinition.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=DEFINITION_BODY,
    response_model=WorkflowRegistered,
    response_model_exclude_unset=True,
)
async def register(request: Request, response: Response, svc: Deps) -> dict[str, Any]:
    """Register a workflow; a changed definition becomes a new version, the same one
    again changes nothing (200)."""
    # Off the event loop: a YAML document takes a while to read (and is bounded).
    definition = await asyncio.to_thread(
        parse_definition, await request.body(), request.headers.get("content-type", "")
    )
    check_input_schema(definition.inputs)
    check_workflow(definition)
    async with svc.pool.connection() as conn:
        registered, created = await catalog.register(conn, svc.caller.namespace, definition)
    if not created:
        response.status_code = status.HTTP_200_OK
    return registered.body() | {"created": created}


@router.get("", response_model=WorkflowList)
async def list_workflows(svc: Deps) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        return {
            "items": [r.summary() for r in await catalog.latest_of_each(conn, svc.caller.namespace)]
        }


@router.get("/{workflow_id}", response_model=WorkflowView, response_model_exclude_unset=True)
async def get_workflow(
    workflow_id: WorkflowId,
    svc: Deps,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        return (await catalog.get(conn, svc.caller.namespace, workflow_id, version)).body()


@router.post(
    "/{workflow_id}/execute",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExecutionAccepted,
    response_model_exclude_unset=True,
)
async def execute(
    workflow_id: WorkflowId,
    svc: Deps,
    request: Annotated[ExecuteRequest | None, Body()] = None,
) -> dict[str, Any]:
    """Kinetic's execute: `{"inputPayload": {...}}` runs the latest (or given) version."""
    request = request or ExecuteRequest()
    body = await create_execution(
        ExecutionRequest(
            workflow_id=workflow_id,
            version=request.version,
            input=request.input_payload,
            metadata=request.metadata,
            priority=request.priority,
        ),
        svc,
    )
    return body | {"execution_id": body["id"], "workflow_id": workflow_id}
