"""The API's routers, mounted in `wiring.create_app`."""

from . import (
    agents,
    artifacts,
    board,
    engine,
    environments,
    executions,
    export,
    health,
    history,
    holds,
    lifecycle,
    listing,
    live,
    logs,
    metrics,
    queues,
    schedules,
    scrape,
    workers,
    workflows,
)

ROUTERS = [
    board.router,
    listing.router,
    executions.router,
    lifecycle.router,
    holds.router,
    history.router,
    export.router,
    logs.router,
    artifacts.router,
    live.router,
    engine.router,
    metrics.router,
    workers.router,
    agents.router,
    environments.router,
    workflows.router,
    schedules.router,
    queues.router,
    health.router,
    scrape.router,
]

__all__ = ["ROUTERS"]
