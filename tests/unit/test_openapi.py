"""The OpenAPI document is whole: a client generated from it resolves every schema."""

from typing import Any

from execflow_api.settings import ApiSettings
from execflow_api.wiring import create_app


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
