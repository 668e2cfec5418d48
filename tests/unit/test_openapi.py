"""The OpenAPI document is whole: a client generated from it resolves every schema and
knows what every read route answers."""

from typing import Any

import pytest
from pydantic import BaseModel

from execflow_api.settings import ApiSettings
from execflow_api.wiring import create_app
from execflow_contracts import (
    BoardCard,
    ExecutionSummary,
    ExecutionView,
    WorkflowDefinition,
    WorkflowView,
)


def references(node: Any) -> set[str]:
    if isinstance(node, dict):
        return {node["$ref"]} if "$ref" in node else set().union(*map(references, node.values()))
    if isinstance(node, list):
        return set().union(*map(references, node))
    return set()


def test_every_reference_resolves_in_the_document() -> None:
    document = create_app(ApiSettings()).openapi()
    documented = {f"#/components/schemas/{name}" for name in document["components"]["schemas"]}
    assert references(document) - documented == set()
    body = document["paths"]["/api/v1/workflows"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"] == {"$ref": "#/components/schemas/WorkflowDefinition"}
    assert "RetryPolicy" in document["components"]["schemas"]
    # A recursive model used in requests and answers is one schema, not two of the same.
    assert "WorkflowSpec" in document["components"]["schemas"]
    assert "WorkflowSpec-Input" not in document["components"]["schemas"]


def test_every_read_route_names_the_schema_of_its_answer() -> None:
    """A GET route answers JSON of a named schema (a view), or a stream or file whose
    items or bytes the document describes: a route added without one fails here."""
    document = create_app(ApiSettings()).openapi()
    unnamed = []
    for path, operations in document["paths"].items():
        if "get" not in operations:
            continue
        content = operations["get"]["responses"]["200"].get("content", {})
        described = {
            media: answer.get("itemSchema") or answer.get("schema") or {}
            for media, answer in content.items()
        }
        json_ref = described.get("application/json", {"$ref": "none needed"}).get("$ref")
        if not described or not all(described.values()) or json_ref is None:
            unnamed.append(f"GET {path}: {described}")
    assert unnamed == []


def test_workflow_views_document_every_field_of_a_definition() -> None:
    """A field added to definitions is added to the view that shows them (else it is
    read as an unknown extra, and left out of the document)."""
    defined = {f.alias or name for name, f in WorkflowDefinition.model_fields.items()}
    shown = {f.alias or name for name, f in WorkflowView.model_fields.items()}
    assert defined <= shown


@pytest.mark.parametrize(
    ("view", "left_out"),
    [(ExecutionView, set()), (BoardCard, {"input", "output", "error", "links"})],
)
def test_views_of_an_execution_have_the_fields_of_its_summary(
    view: type[BaseModel], left_out: set[str]
) -> None:
    """Views declared apart from the summary (each in the order the API sends its
    fields) must not drift from it."""
    for name, field in ExecutionSummary.model_fields.items():
        if name not in left_out:
            assert name in view.model_fields, name
            assert view.model_fields[name].annotation == field.annotation, name
