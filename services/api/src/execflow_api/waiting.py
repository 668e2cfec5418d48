"""Why a queued step waits, when nothing could take it: no live runner or agent serves
its queue in its namespace, or no live function worker its function there. It waits in
its queue until one does, and its execution's view says so (and how to start one)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import nats.errors

from execflow_contracts import WorkerInfo, queue_key

from .functions import served
from .state import Services
from .worker_views import namespace_workers

# Work is usually taken within milliseconds: the registry is read only for an execution
# queued longer than this (a view of one just queued costs no registry read).
QUIET = timedelta(seconds=1)


def queued_steps(row: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """The execution's queued steps: step id → (queue, function or None)."""
    specs = {s["id"]: s for s in (row.get("workflow") or {}).get("steps", [])}
    found = {}
    for step in row.get("steps", []):
        if step["status"] == "queued":
            function = ((specs.get(step["id"]) or {}).get("run") or {}).get("function")
            found[step["id"]] = (step["queue"], function)
    return found


def _queues_served(workers: list[WorkerInfo]) -> set[str]:
    """The queues live runners and agents take work from (a function worker takes only
    its functions' work)."""
    return {queue for w in workers if w.kind != "function" for queue in w.queues}


async def unserved(svc: Services, row: dict[str, Any]) -> dict[str, str]:
    """Why each of the execution's queued steps waits, for those nothing live serves."""
    waiting = queued_steps(row)
    queued_at = row.get("queued_at")
    recent = queued_at is None or datetime.now(UTC) - queued_at < QUIET
    if recent:  # still, say at once what only a function worker could take
        waiting = {step: found for step, found in waiting.items() if found[1] is not None}
    if not waiting:
        return {}
    try:
        workers = await namespace_workers(svc)
    except (nats.errors.Error, TimeoutError):
        return {}  # the registry is away: the view says what it knows without it
    functions, queues = served(workers), _queues_served(workers)
    namespace = svc.caller.namespace  # whose execution it is: the caller's, or a 404
    reasons = {}
    for step_id, (queue, function) in waiting.items():
        if function is not None and (queue, function) not in functions:
            reasons[step_id] = (
                f"waiting: no live worker serves function '{function}' on queue '{queue}'"
            )
        elif function is None and queue not in queues:
            reasons[step_id] = (
                f"waiting: no live runner or agent serves queue '{queue}' of namespace"
                f" '{namespace}' (a runner with EXECFLOW_QUEUES={queue_key(namespace, queue)}"
                " would)"
            )
    return reasons


def say_unserved(body: dict[str, Any], reasons: dict[str, str]) -> None:
    for step in body.get("steps", []):
        if step["id"] in reasons:
            step["message"] = reasons[step["id"]]
    if reasons and body["status"] == "queued":
        body["message"] = "; ".join(f"{step}: {why}" for step, why in sorted(reasons.items()))
