"""Function steps seen from the API: which functions live workers serve, and the queued
function steps that none serves (they wait, and their execution says so)."""

from typing import Any

import nats.errors

from execflow_contracts import WorkerInfo
from execflow_platform import live_workers

from .state import Services


def served(workers: list[WorkerInfo]) -> dict[tuple[str, str], list[str]]:
    """(queue, function) → the ids of the live workers serving it."""
    serving: dict[tuple[str, str], list[str]] = {}
    for worker in workers:
        for queue in worker.queues:
            for function in worker.functions:
                serving.setdefault((queue, function), []).append(worker.id)
    return serving


def waiting_functions(row: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """The execution's queued function steps: step id → (queue, function)."""
    specs = {s["id"]: s for s in (row.get("workflow") or {}).get("steps", [])}
    found = {}
    for step in row.get("steps", []):
        function = ((specs.get(step["id"]) or {}).get("run") or {}).get("function")
        if step["status"] == "queued" and function:
            found[step["id"]] = (step["queue"], function)
    return found


async def unserved(svc: Services, row: dict[str, Any]) -> dict[str, str]:
    """Why each of the execution's queued function steps waits, when no live worker
    serves its function on its queue (it waits there until one does)."""
    waiting = waiting_functions(row)
    if not waiting:
        return {}
    try:
        serving = served(await live_workers(svc.js, svc.topology))
    except (nats.errors.Error, TimeoutError):
        return {}  # the registry is away: the view says what it knows without it
    return {
        step_id: f"waiting: no live worker serves function '{function}' on queue '{queue}'"
        for step_id, (queue, function) in waiting.items()
        if (queue, function) not in serving
    }


def say_unserved(body: dict[str, Any], reasons: dict[str, str]) -> None:
    for step in body.get("steps", []):
        if step["id"] in reasons:
            step["message"] = reasons[step["id"]]
    if reasons and body["status"] == "queued":
        body["message"] = "; ".join(f"{step}: {why}" for step, why in sorted(reasons.items()))
