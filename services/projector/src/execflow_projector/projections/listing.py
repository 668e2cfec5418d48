"""The columns executions are listed and filtered by: what the events say so far.

`queue` and `worker` are those of the latest dispatched and started step; the
schedule is the one that fired the execution (its `metadata.schedule_id`).
"""

from typing import Any

from execflow_contracts import AnyEvent, ExecutionCreated, StepDispatched, StepStarted


def columns(event: AnyEvent) -> dict[str, Any]:
    """The listing columns an event sets on its execution's row (most set none)."""
    if isinstance(event, ExecutionCreated):
        return {"name": getattr(event.workflow, "name", None) or event.workflow_id}
    if isinstance(event, StepDispatched):
        return {"queue": event.queue}
    if isinstance(event, StepStarted):
        return {"worker": event.worker}
    return {}


def schedule_id(event: ExecutionCreated) -> str | None:
    """The schedule that fired the execution: it says so in its metadata."""
    found = event.metadata.get("schedule_id")
    return found if isinstance(found, str) else None
