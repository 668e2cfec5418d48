"""Following an execution's event stream: its state, kept current event by event."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from execflow_contracts import STEP_STATUS_AFTER, TERMINAL_EXECUTION_STATUSES

from .sse import ServerEvent

# What each step event makes of the step (the contracts' step machine); other events
# change only the execution's status (when they carry `to_status`).
STEP_STATUS = {event: status.value for event, status in STEP_STATUS_AFTER.items()}


@dataclass
class Watched:
    status: str = "pending"
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: Any = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_EXECUTION_STATUSES


@dataclass(frozen=True)
class Change:
    """One line of progress: what moved, and to what."""

    subject: str
    status: str
    detail: str = ""


def follow(events: Iterator[ServerEvent], state: Watched) -> Iterator[Change]:
    for event in events:
        body = event.json()
        if event.event == "snapshot":
            state.status = body["status"]
            state.steps = {s["id"]: s for s in body.get("steps", [])}
            state.error = body.get("error")
            yield Change("execution", state.status)
            continue
        if step_status := STEP_STATUS.get(event.event):
            yield apply_step(state, body, step_status)
        if to_status := body.get("to_status"):
            state.status = to_status
            state.error = body.get("error", state.error)
            yield Change("execution", to_status, body.get("reason", ""))


def apply_step(state: Watched, body: dict[str, Any], status: str) -> Change:
    step = state.steps.setdefault(body["step_id"], {"id": body["step_id"]})
    step["status"] = status
    for key in ("worker", "exit_code", "error"):
        if key in body:
            step[key] = body[key]
    if "attempt" in body:
        step["attempts"] = body["attempt"]
    if body.get("started_at") and body.get("finished_at"):
        elapsed = datetime.fromisoformat(body["finished_at"]) - datetime.fromisoformat(
            body["started_at"]
        )
        step["duration_ms"] = int(elapsed.total_seconds() * 1000)
    detail = body.get("error") or body.get("reason") or ""
    if status == "running" and body.get("worker"):
        detail = f"on {body['worker']}"
    return Change(f"step {body['step_id']}", status, detail)
