"""The hook for the worker registry, which is being built on another branch.

Wiring sets `Services.worker_registry` once a registry exists; until then the engine
overview reports `"workers": null`, and `GET /api/v1/workers` does not exist yet.
"""

from typing import Any, Protocol


class WorkerRegistry(Protocol):
    """The runners with their queues, capacity, running steps and last heartbeat."""

    async def list_workers(self) -> list[dict[str, Any]]: ...
