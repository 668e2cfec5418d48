"""The API's routers, mounted in `wiring.create_app`."""

from . import executions, health, lifecycle, queues, schedules, workflows

ROUTERS = [
    executions.router,
    lifecycle.router,
    health.router,
    workflows.router,
    schedules.router,
    queues.router,
]

__all__ = ["ROUTERS"]
