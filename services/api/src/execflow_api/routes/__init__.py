"""The API's routers, mounted in `wiring.create_app`."""

from . import (
    agents,
    artifacts,
    asyncapi,
    board,
    engine,
    environments,
    executions,
    export,
    functions,
    health,
    history,
    lifecycle,
    listing,
    live,
    logs,
    metrics,
    queues,
    schedules,
    workers,
    workflows,
)

ROUTERS = [
    board.router,
    listing.router,
    executions.router,
    lifecycle.router,
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
    functions.router,
    schedules.router,
    queues.router,
    health.router,
    asyncapi.router,
]

__all__ = ["ROUTERS"]
