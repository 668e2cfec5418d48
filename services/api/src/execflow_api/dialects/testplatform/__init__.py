"""The test-orchestration platform's launch model: suites with a topology, profiles,
platform settings and backends; `POST /api/v1/executions {suiteId, profile, backend?}`."""

from . import agents
from .launch import launch
from .models import LaunchRequest
from .routes import pages, router

__all__ = ["LaunchRequest", "agents", "launch", "pages", "router"]
