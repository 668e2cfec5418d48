"""kontinue's Execution resource, served as a Kubernetes API server would (discovery,
OpenAPI v3, create/get/list/watch, the status subresource, tables), so that kubectl and
an aggregated APIService (deploy/kubernetes/kontinue-apiservice.yaml) reach execflow."""

from . import discovery, resource

ROUTERS = [discovery.router, resource.router]

__all__ = ["ROUTERS"]
