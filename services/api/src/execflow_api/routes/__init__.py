"""The API's routers, mounted in `wiring.create_app`."""

from . import executions, health

ROUTERS = [executions.router, health.router]

__all__ = ["ROUTERS"]
