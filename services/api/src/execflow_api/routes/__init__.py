"""The API's routers, mounted in `wiring.create_app`."""

from . import environments, executions, health, workers

ROUTERS = [executions.router, workers.router, environments.router, health.router]

__all__ = ["ROUTERS"]
