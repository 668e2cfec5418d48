"""Following an execution's event stream: its state, kept current event by event."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from execflow_contracts import (
    STEP_STATUS_AFTER,
    TERMINAL_EXECUTION_STATUSES,
    ExecutionView,
    StepView,
)

from .sse import ServerEvent

# What each step event makes of the step (the contracts' step machine); other events
# change only the execution's status (when they carry `to_status`).
STEP_STATUS = {event: status.value for event, status in STEP_STATUS_AFTER.items()}


@dataclass
class WatchedStep:
    """A step as far as the events tell (its row in `render.steps`)."""

    id: str
    status: str = "pending"
    attempts: int = 0
    worker: str | None = None
    exit_code: int | None = None
    duration_ms: int | None = None
    error: str | None = None

    @classmethod
    def of(cls, step: StepView) -> "WatchedStep":
        return cls(
            step.id,
            step.status,
            step.attempts,
            step.worker,
            step.exit_code,
            step.duration_ms,
            step.error,
        )


@dataclass
class Watched:
    status: str = "pending"
    steps: dict[str, WatchedStep] = field(default_factory=dict)
    # As the API gives it (JSON): the snapshot's, then a failure event's.
    error: Any = None
    # The steps that wait for an answer: their prompt and the JSON Schema it must match.
    questions: dict[str, tuple[str, Any]] = field(default_factory=dict)
    # Each step's type (run, input, child), from the workflow.
    kinds: dict[str, str] = field(default_factory=dict)

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
        if event.event == "snapshot":
            snapshot = ExecutionView.model_validate_json(event.data)
            state.status = snapshot.status
            state.steps = {s.id: WatchedStep.of(s) for s in snapshot.steps}
            state.error = snapshot.error and snapshot.error.model_dump(exclude_unset=True)
            state.kinds = {
                s["id"]: s.get("type", "run") for s in snapshot.workflow.get("steps", [])
            }
            state.questions = {
                s.id: (s.prompt or "", s.input_schema)
                for s in snapshot.steps
                if s.status == "awaiting_input"
            }
            yield Change("execution", state.status)
            continue
        # Other events are the bus's (`execflow_contracts.events`), read as JSON: this
        # client may not know every type a newer API sends.
        body = event.json()
        if event.event == "InputRequested":
            state.questions[body["step_id"]] = (body.get("prompt", ""), body.get("input_schema"))
        elif event.event == "InputProvided":
            state.questions.pop(body["step_id"], None)
            # An input step is done once answered; a running step that asked runs on.
            answered = "succeeded" if state.kinds.get(body["step_id"]) == "input" else "running"
            yield apply_step(state, body, answered)
        if step_status := STEP_STATUS.get(event.event):
            yield apply_step(state, body, step_status)
        if to_status := body.get("to_status"):
            state.status = to_status
            state.error = body.get("error", state.error)
            yield Change("execution", to_status, body.get("reason", ""))


def apply_step(state: Watched, body: dict[str, Any], status: str) -> Change:
    step = state.steps.setdefault(body["step_id"], WatchedStep(body["step_id"]))
    step.status = status
    for key in ("worker", "exit_code", "error"):
        if key in body:
            setattr(step, key, body[key])
    if "attempt" in body:
        step.attempts = body["attempt"]
    if body.get("started_at") and body.get("finished_at"):
        elapsed = datetime.fromisoformat(body["finished_at"]) - datetime.fromisoformat(
            body["started_at"]
        )
        step.duration_ms = int(elapsed.total_seconds() * 1000)
    detail = body.get("error") or body.get("reason") or ""
    if status == "running" and body.get("worker"):
        detail = f"on {body['worker']}"
    return Change(f"step {body['step_id']}", status, detail)
