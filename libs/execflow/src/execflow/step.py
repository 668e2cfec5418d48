"""Report from inside a running step (the step protocol), with the standard library only.

    from execflow import step
    step.progress(2, 5, "halfway")
    step.action("click", target="#ok")
    step.screenshot("shots/1.png")
    step.artifact("report", "out/report.html", kind="file")
    step.checkpoint("logged-in")
    step.output({"rows": 3})
    answer = step.ask("which branch?", {"type": "string"})

Each call appends one JSON line to the file named by `$EXECFLOW_EVENTS`; outside
execflow (no such variable) the calls do nothing, and `ask` raises.
"""

import json
import os
import time
from pathlib import Path
from typing import Any


def emit(fact: dict[str, Any]) -> None:
    """Append one raw fact (a JSON object with a `type`)."""
    path = os.environ.get("EXECFLOW_EVENTS")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(fact, separators=(",", ":")) + "\n")


def progress(current: float, maximum: float | None = None, message: str = "") -> None:
    emit({"type": "progress", "current": current, "max": maximum, "message": message})


def action(name: str, **fields: Any) -> None:
    emit({"type": "action", "name": name, **fields})


def screenshot(path: str) -> None:
    emit({"type": "screenshot", "path": path})


def artifact(name: str, path: str, kind: str = "file") -> None:
    emit({"type": "artifact", "name": name, "path": path, "kind": kind})


def checkpoint(name: str) -> None:
    emit({"type": "checkpoint", "name": name})


def output(value: Any) -> None:
    emit({"type": "output", "value": value})


def ask(prompt: str, schema: dict[str, Any] | None = None, poll_s: float = 0.1) -> Any:
    """Ask a question and wait for the answer (the execution waits in `awaiting_input`)."""
    answer = os.environ.get("EXECFLOW_ANSWER")
    if not answer or not os.environ.get("EXECFLOW_EVENTS"):
        raise RuntimeError("step.ask works only inside an execflow step")
    emit({"type": "question", "prompt": prompt, "schema": schema})
    path = Path(answer)
    while not path.exists():
        time.sleep(poll_s)
    return json.loads(path.read_text(encoding="utf-8"))
