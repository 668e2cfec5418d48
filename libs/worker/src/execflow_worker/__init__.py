"""execflow's function workers: Python functions as durable steps, served from a
user's own service over NATS (no database, no execflow service installed).

    from execflow_worker import Context, Worker

    worker = Worker()

    @worker.function("resize-image")
    async def resize(args: Resize, ctx: Context) -> Resized:
        ctx.progress(1, 2)
        return Resized(...)

    worker.run(queues=["default"], capacity=8)
"""

from .context import Context, StepContext, SyncContext
from .functions import Function, FunctionError
from .settings import WorkerSettings
from .worker import Worker

__all__ = [
    "Context",
    "Function",
    "FunctionError",
    "StepContext",
    "SyncContext",
    "Worker",
    "WorkerSettings",
]
