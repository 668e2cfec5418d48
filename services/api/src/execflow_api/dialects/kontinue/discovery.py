"""What kubectl reads before it touches a resource: the server's version, the API groups
and their resources (legacy discovery: `/api`, `/apis`, …), and the group's OpenAPI v3
document, whose PATCH operation declaring `fieldValidation` tells kubectl to let the
server validate what it creates (strictly: unknown fields are refused). The core group
serves only `events` (none: execflow records its own), which `kubectl describe` reads.
None of it is in execflow's own OpenAPI document."""

import hashlib
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from .models import (
    API_VERSION,
    GROUP,
    KIND,
    PLURAL,
    SHORT_NAMES,
    SINGULAR,
    VERSION,
    KontinueExecution,
)

router = APIRouter(include_in_schema=False)
GROUP_VERSION = {"groupVersion": API_VERSION, "version": VERSION}
VERBS = ["create", "get", "list", "watch"]


@router.get("/version")
async def version() -> dict[str, str]:
    return {
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0+execflow",
        "platform": "linux/amd64",
    }


@router.get("/api")
async def core_versions(request: Request) -> dict[str, Any]:
    host = request.url.netloc
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
    }


@router.get("/api/v1")
async def core_resources() -> dict[str, Any]:
    events = {
        "name": "events",
        "singularName": "event",
        "namespaced": True,
        "kind": "Event",
        "verbs": ["list"],
        "shortNames": ["ev"],
    }
    return {"kind": "APIResourceList", "groupVersion": "v1", "resources": [events]}


@router.get("/api/v1/namespaces/{namespace}/events")
async def no_events(namespace: str) -> dict[str, Any]:
    return {"kind": "EventList", "apiVersion": "v1", "metadata": {}, "items": []}


def group() -> dict[str, Any]:
    return {
        "name": GROUP,
        "versions": [GROUP_VERSION],
        "preferredVersion": GROUP_VERSION,
    }


@router.get("/apis")
async def groups() -> dict[str, Any]:
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [group()]}


@router.get(f"/apis/{GROUP}")
async def one_group() -> dict[str, Any]:
    return {"kind": "APIGroup", "apiVersion": "v1"} | group()


@router.get(f"/apis/{GROUP}/{VERSION}")
async def resources() -> dict[str, Any]:
    executions = {
        "name": PLURAL,
        "singularName": SINGULAR,
        "namespaced": True,
        "kind": KIND,
        "verbs": VERBS,
        "shortNames": SHORT_NAMES,
        "categories": ["all"],
    }
    status = {
        "name": f"{PLURAL}/status",
        "singularName": "",
        "namespaced": True,
        "kind": KIND,
        "verbs": ["get"],
    }
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": API_VERSION,
        "resources": [executions, status],
    }


def group_document() -> dict[str, Any]:
    """The group's OpenAPI v3 document: its schema and operations, each marked with the
    group, version and kind kubectl looks them up by."""
    gvk = {"group": GROUP, "version": VERSION, "kind": KIND}
    schema = KontinueExecution.model_json_schema(
        by_alias=True, ref_template="#/components/schemas/{model}"
    )
    components = schema.pop("$defs", {})
    name = f"cloud.kontinue.{VERSION}.{KIND}"
    components[name] = schema | {"x-kubernetes-group-version-kind": [gvk]}
    body = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}
    validation = {
        "name": "fieldValidation",
        "in": "query",
        "description": "Strict: unknown fields are refused (the only mode served)",
        "schema": {"type": "string", "uniqueItems": True},
    }
    ok = {"200": {"description": "OK", "content": body["content"]}}
    collection = f"/apis/{GROUP}/{VERSION}/namespaces/{{namespace}}/{PLURAL}"
    return {
        "openapi": "3.0.0",
        "info": {"title": "execflow: kontinue's Execution", "version": VERSION},
        "paths": {
            collection: {
                "post": {
                    "operationId": "createKontinueExecution",
                    "parameters": [validation],
                    "requestBody": body,
                    "responses": {"201": {"description": "Created", "content": body["content"]}},
                    "x-kubernetes-action": "post",
                    "x-kubernetes-group-version-kind": gvk,
                },
            },
            f"{collection}/{{name}}": {
                "get": {
                    "operationId": "readKontinueExecution",
                    "responses": ok,
                    "x-kubernetes-action": "get",
                    "x-kubernetes-group-version-kind": gvk,
                },
                # Declared so kubectl knows the server validates fields; it is refused
                # (405): an execution is not changed after it is made.
                "patch": {
                    "operationId": "patchKontinueExecution",
                    "parameters": [validation],
                    "responses": {"405": {"description": "executions are not changed"}},
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": gvk,
                },
            },
        },
        "components": {"schemas": components},
    }


DOCUMENT = group_document()
DOCUMENT_HASH = hashlib.sha256(json.dumps(DOCUMENT, sort_keys=True).encode()).hexdigest()[:16]


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (strings and messages)."""
    key, size = bytes([number << 3 | 2]), len(payload)
    length = bytearray()
    while True:  # varint
        length.append((size & 0x7F) | (0x80 if size > 0x7F else 0))
        size >>= 7
        if not size:
            return key + bytes(length) + payload


# OpenAPI v2, as older kubectl (Debian's 1.20) downloads it to validate what it sends: a
# protobuf `openapi.v2.Document` (gnostic) with no definitions. kubectl then leaves the
# kinds it finds none for to the server, which validates strictly; newer kubectl reads
# the v3 document instead.
OPENAPI_V2 = (
    _field(1, b"2.0")
    + _field(2, _field(1, b"execflow: kontinue's Execution") + _field(2, VERSION.encode()))
    + _field(8, b"")
)


@router.get("/openapi/v2")
async def openapi_v2() -> Response:
    return Response(OPENAPI_V2, media_type="application/octet-stream")


@router.get("/openapi/v3")
async def openapi_index() -> dict[str, Any]:
    url = f"/openapi/v3/apis/{GROUP}/{VERSION}?hash={DOCUMENT_HASH}"
    return {"paths": {f"apis/{GROUP}/{VERSION}": {"serverRelativeURL": url}}}


@router.get(f"/openapi/v3/apis/{GROUP}/{VERSION}")
async def openapi_group() -> JSONResponse:
    return JSONResponse(DOCUMENT)
