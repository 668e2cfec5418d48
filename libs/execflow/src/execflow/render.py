"""How the CLI shows things to people: rich tables and lines. Scripts use --json."""

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from rich.console import Console
from rich.table import Table
from rich.text import Text

from execflow_contracts import (
    ExecutionSummary,
    ExecutionView,
    LogLineView,
    MetricsBucket,
    ScheduleView,
    WorkerInfo,
    WorkflowSummary,
)

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


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def duration(ms: float | None) -> str:
    if ms is None:
        return "-"
    ms = int(ms)
    return f"{ms / 1000:.1f}s" if ms < 60_000 else f"{ms // 60_000}m{ms // 1000 % 60:02d}s"


def executions(items: Sequence[ExecutionSummary]) -> Table:
    table = Table(box=None, header_style="bold")
    table.add_column("ID", no_wrap=True)
    for name in ("STATUS", "CREATED", "DURATION", "STEPS", "QUEUE", "WORKER"):
        table.add_column(name)
    for e in items:
        table.add_row(
            str(e.id),
            status(e.status),
            when(e.created_at),
            duration(e.duration_ms),
            str(e.n_steps),
            e.queue or "-",
            e.worker or "-",
        )
    return table


def execution(e: ExecutionView) -> Table:
    table = Table(box=None, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("id", str(e.id))
    table.add_row("status", status(e.status))
    if e.message:
        table.add_row("message", e.message)
    for key, at in (
        ("created", e.created_at),
        ("queued", e.queued_at),
        ("started", e.started_at),
        ("completed", e.completed_at),
    ):
        table.add_row(key, when(at))
    table.add_row("duration", duration(e.duration_ms))
    for key, value in (
        ("queue", e.queue),
        ("worker", e.worker),
        ("workflow_id", e.workflow_id),
        ("parent_id", e.parent_id),
        ("trace_id", e.trace_id),
    ):
        if value:
            table.add_row(key, str(value))
    error = e.error.model_dump(mode="json", exclude_unset=True) if e.error else None
    shown = {"input": e.input, "metadata": e.metadata, "output": e.output, "error": error}
    for key, value in shown.items():
        if value not in (None, {}, []):
            table.add_row(key, json.dumps(value))
    return table


class StepRow(Protocol):
    """What a step's row shows: a step as `get` reads it, or as `watch` follows it."""

    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def attempts(self) -> int: ...
    @property
    def worker(self) -> str | None: ...
    @property
    def exit_code(self) -> int | None: ...
    @property
    def duration_ms(self) -> int | None: ...
    @property
    def error(self) -> str | None: ...


def steps(items: Iterable[StepRow]) -> Table:
    table = Table(box=None, header_style="bold")
    for name in ("STEP", "STATUS", "ATTEMPTS", "WORKER", "EXIT", "DURATION", "ERROR"):
        table.add_column(name)
    for s in items:
        table.add_row(
            s.id,
            status(s.status),
            str(s.attempts),
            s.worker or "-",
            "-" if s.exit_code is None else str(s.exit_code),
            duration(s.duration_ms),
            s.error or "",
        )
    return table


def log_line(line: LogLineView) -> Text:
    text = Text(f"[{line.step_id}] ", style="dim")
    text.append(line.line, style="red" if line.stream == "stderr" else "")
    return text


def change(c: Change) -> Text:
    text = Text(f"{c.subject}: ")
    text.append_text(status(c.status))
    if c.detail:
        text.append(f"  {c.detail}", style="dim")
    return text


def workers(items: Sequence[WorkerInfo]) -> Table:
    table = Table(box=None, header_style="bold")
    for name in ("ID", "KIND", "HOST", "QUEUES", "BACKENDS", "RUNNING", "STARTED", "HEARTBEAT"):
        table.add_column(name)
    for w in items:
        table.add_row(
            w.id,
            w.kind,
            f"{w.host}:{w.pid}",
            ",".join(w.queues),
            ",".join(w.backends) + (f": {','.join(w.functions)}" if w.functions else ""),
            f"{len(w.running)}/{w.capacity}",
            when(w.started_at),
            when(w.last_heartbeat),
        )
    return table


def workflows(items: Sequence[WorkflowSummary]) -> Table:
    table = Table(box=None, header_style="bold")
    for name in ("ID", "VERSION", "REGISTERED", "DESCRIPTION"):
        table.add_column(name)
    for w in items:
        table.add_row(w.id, str(w.version), when(w.created_at), w.description or "")
    return table


def metrics(items: Sequence[MetricsBucket], group_by: str | None) -> Table:
    table = Table(box=None, header_style="bold")
    columns = ["BUCKET", *([group_by.upper()] if group_by else [])]
    columns += ["STARTED", "COMPLETED", "FAILED", "CANCELLED", "SUCCESS", "P50", "P95", "WAIT"]
    for name in columns:
        table.add_column(name)
    for m in items:
        rate = m.success_rate
        table.add_row(
            when(m.bucket),
            *([str(getattr(m, group_by, None) or "-")] if group_by else []),
            *(str(n) for n in (m.started, m.completed, m.failed, m.cancelled)),
            "-" if rate is None else f"{rate:.0%}",
            duration(m.duration_ms.p50),
            duration(m.duration_ms.p95),
            duration(m.queue_wait_ms.avg),
        )
    return table


def schedules(items: Sequence[ScheduleView]) -> Table:
    table = Table(box=None, header_style="bold")
    table.add_column("ID", no_wrap=True)
    for name in ("WORKFLOW", "RHYTHM", "STATUS", "NEXT FIRE", "FIRES", "LAST ERROR"):
        table.add_column(name)
    for s in items:
        rhythm = f"cron {s.cron} {s.timezone}" if s.cron else f"every {s.every:g}s"
        table.add_row(
            str(s.id),
            s.workflow_id,
            rhythm,
            status(s.status),
            when(s.next_fire_at),
            str(s.fires),
            s.last_error or "",
        )
    return table
