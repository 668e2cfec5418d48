"""The API's routers, mounted in `wiring.create_app`."""

from . import executions, health, lifecycle

ROUTERS = [executions.router, lifecycle.router, health.router]

__all__ = ["ROUTERS"]
