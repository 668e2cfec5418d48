"""What execflow runs on the Docker engine, found by its labels: list, remove.

Blocking SDK calls, run through `DockerEngine.call` in a thread. Only this deployment's
things (label `execflow.deployment` = the bus prefix) of the caller's namespace (label
`execflow.namespace`) are seen or touched.
"""

from datetime import UTC, datetime
from typing import Any

from docker import APIClient, DockerClient
from docker.errors import NotFound

from execflow_contracts import (
    ATTEMPT_LABEL,
    DEPLOYMENT_LABEL,
    EXECUTION_LABEL,
    NAMESPACE_LABEL,
    STEP_LABEL,
    WORKER_LABEL,
    namespace_of,
)


def list_environments(
    client: DockerClient, deployment: str, namespace: str
) -> list[dict[str, Any]]:
    api = client.api
    owned = {"label": [f"{DEPLOYMENT_LABEL}={deployment}"]}
    containers = [
        _view("container", c["Id"], _name(c), c.get("Labels"), _epoch(c.get("Created")))
        | {"image": c.get("Image"), "state": c.get("State"), "status": c.get("Status")}
        for c in api.containers(all=True, filters=owned)
    ]
    networks = [
        _view("network", n["Id"], n["Name"], n.get("Labels"), n.get("Created"))
        for n in api.networks(filters=owned)
    ]
    volumes = [
        _view("volume", v["Name"], v["Name"], v.get("Labels"), v.get("CreatedAt"))
        for v in api.volumes(filters=owned).get("Volumes") or []
    ]
    return [item for item in containers + networks + volumes if _of(namespace, item["labels"])]


KINDS = ("container", "network", "volume")


def remove_environment(
    client: DockerClient, deployment: str, namespace: str, ident: str
) -> str | None:
    """Remove this deployment's container, network or volume `ident` of `namespace`; its
    kind, or None if there is no such thing of ours (another deployment's or another
    namespace's, or not execflow's at all)."""
    for kind in KINDS:
        labels = _labels(client.api, kind, ident)
        if labels is None:
            continue
        if labels.get(DEPLOYMENT_LABEL) != deployment or not _of(namespace, labels):
            return None
        try:
            _remove(client.api, kind, ident)
        except NotFound:  # removed meanwhile, by its runner or its reaper
            return None
        return kind
    return None


def _of(namespace: str, labels: dict[str, str]) -> bool:
    return namespace_of(labels.get(NAMESPACE_LABEL)) == namespace


def _labels(api: APIClient, kind: str, ident: str) -> dict[str, str] | None:
    """Its labels, or None if there is no such thing."""
    try:
        if kind == "container":
            return api.inspect_container(ident)["Config"].get("Labels") or {}
        if kind == "network":
            return api.inspect_network(ident).get("Labels") or {}
        return api.inspect_volume(ident).get("Labels") or {}
    except NotFound:
        return None


def _remove(api: APIClient, kind: str, ident: str) -> None:
    if kind == "container":
        api.remove_container(ident, force=True)  # a running step's too: it then fails
    elif kind == "network":
        api.remove_network(ident)
    else:
        api.remove_volume(ident, force=True)


def _view(
    kind: str, ident: str, name: str, labels: dict[str, str] | None, created_at: str | None
) -> dict[str, Any]:
    labels = labels or {}
    attempt = labels.get(ATTEMPT_LABEL)
    return {
        "id": ident,
        "kind": kind,
        "name": name,
        "created_at": created_at,
        "execution_id": labels.get(EXECUTION_LABEL),
        "step_id": labels.get(STEP_LABEL),
        "attempt": int(attempt) if attempt and attempt.isdigit() else None,
        "worker": labels.get(WORKER_LABEL),
        "labels": labels,
    }


def _name(container: dict[str, Any]) -> str:
    names: list[str] = container.get("Names") or []
    return names[0].lstrip("/") if names else container["Id"][:12]


def _epoch(created: int | None) -> str | None:
    return datetime.fromtimestamp(created, UTC).isoformat() if created else None
