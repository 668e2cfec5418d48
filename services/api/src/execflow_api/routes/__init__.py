"""The API's routers, mounted in `wiring.create_app`."""

from . import executions, health, history, listing, logs

ROUTERS = [listing.router, executions.router, history.router, logs.router, health.router]

__all__ = ["ROUTERS"]
