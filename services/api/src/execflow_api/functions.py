"""Function steps seen from the API: which functions live workers serve."""

from execflow_contracts import WorkerInfo


def served(workers: list[WorkerInfo]) -> dict[tuple[str, str], list[str]]:
    """(queue name, function) → the ids of the live workers serving it (`workers` as a
    namespace sees them)."""
    serving: dict[tuple[str, str], list[str]] = {}
    for worker in workers:
        for queue in worker.queues:
            for function in worker.functions:
                serving.setdefault((queue, function), []).append(worker.id)
    return serving
