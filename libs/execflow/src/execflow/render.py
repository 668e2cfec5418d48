"""How the CLI shows things to people: rich tables and lines. Scripts use --json."""

import json
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .watching import Change

STATUS_STYLE = {
    "completed": "green",
    "succeeded": "green",
    "failed": "red",
    "timed_out": "red",
    "cancelled": "yellow",
    "cancelling": "yellow",
    "running": "cyan",
    "awaiting_input": "magenta",
}


def console() -> Console:
    # Made per command, not at import: rich reads the terminal's width when it starts.
    return Console(highlight=False)


def as_json(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)


def status(value: str | None) -> Text:
    return Text(value or "-", style=STATUS_STYLE.get(value or "", ""))


def when(value: str | None) -> str:
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def duration(ms: int | None) -> str:
    if ms is None:
        return "-"
    return f"{ms / 1000:.1f}s" if ms < 60_000 else f"{ms // 60_000}m{ms // 1000 % 60:02d}s"


def executions(items: list[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold")
    table.add_column("ID", no_wrap=True)
    for name in ("STATUS", "CREATED", "DURATION", "STEPS", "QUEUE", "WORKER"):
        table.add_column(name)
    for e in items:
        table.add_row(
            e["id"],
            status(e["status"]),
            when(e["created_at"]),
            duration(e.get("duration_ms")),
            str(e.get("n_steps", "-")),
            e.get("queue") or "-",
            e.get("worker") or "-",
        )
    return table


def execution(e: dict[str, Any]) -> Table:
    table = Table(box=None, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("id", e["id"])
    table.add_row("status", status(e["status"]))
    if e.get("message"):
        table.add_row("message", e["message"])
    for key in ("created_at", "queued_at", "started_at", "completed_at"):
        table.add_row(key.removesuffix("_at"), when(e.get(key)))
    table.add_row("duration", duration(e.get("duration_ms")))
    for key in ("queue", "worker", "workflow_id", "parent_id"):
        if e.get(key):
            table.add_row(key, str(e[key]))
    for key in ("input", "metadata", "output", "error"):
        if e.get(key) not in (None, {}, []):
            table.add_row(key, json.dumps(e[key]))
    return table


def steps(items: list[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold")
    for name in ("STEP", "STATUS", "ATTEMPTS", "WORKER", "EXIT", "DURATION", "ERROR"):
        table.add_column(name)
    for s in items:
        exit_code = s.get("exit_code")
        table.add_row(
            s["id"],
            status(s.get("status")),
            str(s.get("attempts", "-")),
            s.get("worker") or "-",
            "-" if exit_code is None else str(exit_code),
            duration(s.get("duration_ms")),
            s.get("error") or "",
        )
    return table


def log_line(line: dict[str, Any]) -> Text:
    text = Text(f"[{line['step_id']}] ", style="dim")
    text.append(line["line"], style="red" if line["stream"] == "stderr" else "")
    return text


def change(c: Change) -> Text:
    text = Text(f"{c.subject}: ")
    text.append_text(status(c.status))
    if c.detail:
        text.append(f"  {c.detail}", style="dim")
    return text


def workers(items: list[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold")
    for name in ("ID", "HOST", "QUEUES", "BACKENDS", "RUNNING", "STARTED", "HEARTBEAT"):
        table.add_column(name)
    for w in items:
        table.add_row(
            w["id"],
            f"{w['host']}:{w['pid']}",
            ",".join(w["queues"]),
            ",".join(w["backends"]),
            f"{len(w.get('running', []))}/{w['capacity']}",
            when(w["started_at"]),
            when(w["last_heartbeat"]),
        )
    return table


def workflows(items: list[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold")
    for name in ("ID", "VERSION", "REGISTERED", "DESCRIPTION"):
        table.add_column(name)
    for w in items:
        table.add_row(w["id"], str(w["version"]), when(w["created_at"]), w.get("description") or "")
    return table


def metrics(items: list[dict[str, Any]], group_by: str | None) -> Table:
    table = Table(box=None, header_style="bold")
    columns = ["BUCKET", *([group_by.upper()] if group_by else [])]
    columns += ["STARTED", "COMPLETED", "FAILED", "CANCELLED", "SUCCESS", "P50", "P95", "WAIT"]
    for name in columns:
        table.add_column(name)
    for m in items:
        rate = m["success_rate"]
        table.add_row(
            when(m["bucket"]),
            *([str(m[group_by] or "-")] if group_by else []),
            *(str(m[k]) for k in ("started", "completed", "failed", "cancelled")),
            "-" if rate is None else f"{rate:.0%}",
            duration(m["duration_ms"]["p50"] and int(m["duration_ms"]["p50"])),
            duration(m["duration_ms"]["p95"] and int(m["duration_ms"]["p95"])),
            duration(m["queue_wait_ms"]["avg"] and int(m["queue_wait_ms"]["avg"])),
        )
    return table
