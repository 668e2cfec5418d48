"""The live workers as a namespace sees them.

A runner may serve several namespaces' queues (`EXECFLOW_QUEUES=gpu,team-a/gpu`): each
namespace sees it only if it serves one of that namespace's queues, and then only those
queues (by name) and the steps it runs for that namespace, never another tenant's."""

from collections.abc import Iterable

from execflow_contracts import DEFAULT_NAMESPACE, WorkerInfo, queues_in
from execflow_platform import live_workers

from .state import Services


def seen_from(namespace: str, workers: Iterable[WorkerInfo]) -> list[WorkerInfo]:
    seen = []
    for worker in workers:
        queues = queues_in(namespace, worker.queues)
        if not queues:
            continue
        running = [
            step for step in worker.running if (step.namespace or DEFAULT_NAMESPACE) == namespace
        ]
        seen.append(worker.model_copy(update={"queues": queues, "running": running}))
    return seen


async def namespace_workers(svc: Services) -> list[WorkerInfo]:
    """The live workers the caller's namespace sees."""
    return seen_from(svc.caller.namespace, await live_workers(svc.js, svc.topology))
