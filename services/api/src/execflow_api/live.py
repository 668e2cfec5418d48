"""The live streams of one execution: its events, and its log lines."""

import time
from collections.abc import AsyncIterator
from uuid import UUID

from opentelemetry.trace import SpanKind

from execflow_contracts import ExecutionNotFound, ExecutionStatus
from execflow_telemetry import tracing

from . import logs, presenters, queries, sse
from .event_log import StoredEvent, stored_events_after
from .state import Services

LOG_PAGE = 500
CATCHING_UP_S = 0.05


async def until_known(svc: Services, execution_id: UUID, wait_s: float) -> None:
    """Returns once the read models have the execution; ExecutionNotFound after `wait_s`
    without it. A create is accepted before it is projected: a client may watch at once."""
    deadline = time.monotonic() + wait_s
    with svc.changes.watch(execution_id) as watch:
        while True:
            try:
                async with svc.pool.connection() as conn:
                    await queries.exists(conn, execution_id, svc.caller.namespace)
                return
            except ExecutionNotFound:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise
                await watch.next_change(left)


async def execution_events(
    svc: Services, execution_id: UUID, after: int | None
) -> AsyncIterator[bytes]:
    """First the current state (unless resuming after a version), then every event
    above it, each with its version as id; ends after the execution's final event."""
    with svc.changes.watch(execution_id) as watch:  # before the first read: nothing slips
        if after is None:
            async with svc.pool.connection() as conn:
                row = await queries.get_execution(conn, execution_id, svc.caller.namespace)
            yield sse.event("snapshot", presenters.execution(row), row["version"])
            if ExecutionStatus(row["status"]).is_terminal:
                return
            after = int(row["version"])
        while True:
            async with svc.pool.connection() as conn:
                events = await stored_events_after(conn, execution_id, after)
            for item in events:
                yield sse.raw_event(item.type, item.body_json, item.version)
                delivered(item, execution_id)
                after = item.version
            if any(is_final(item.to_status) for item in events):
                return
            yield b""
            await watch.next_change()


def is_final(to_status: str | None) -> bool:
    return to_status is not None and ExecutionStatus(to_status).is_terminal


async def log_lines(
    svc: Services, execution_id: UUID, step: str | None, after: int
) -> AsyncIterator[bytes]:
    """Lines after `after`, then new ones as they are projected, each with its id;
    ends with an `end` event once the execution is over and every line is in."""
    complete_at: int | None = None  # the LOGS sequence that holds every line
    with svc.changes.watch(execution_id) as watch:
        while True:
            async with svc.pool.connection() as conn:
                status = await queries.status_of(conn, execution_id, svc.caller.namespace)
                if status.is_terminal and complete_at is None:
                    # Runners store a step's lines before they report it finished, so
                    # once the execution is over the stream already holds every line.
                    complete_at = await logs_stream_end(svc)
                position = await queries.projection_position(
                    conn, svc.topology.projector_logs_consumer
                )
                caught_up = complete_at is not None and position >= complete_at
                lines = await logs.lines_after(conn, execution_id, step, after, LOG_PAGE)
            for line in lines:
                yield sse.event("line", line, line["id"])
                after = line["id"]
            if len(lines) == LOG_PAGE:
                continue
            if caught_up:
                yield sse.event("end", {"status": status})
                return
            yield b""
            # Over, with the projector behind on other executions' lines: their batches
            # do not name this one, so look again soon rather than wait for a notice.
            await watch.next_change(CATCHING_UP_S if complete_at is not None else None)


async def logs_stream_end(svc: Services) -> int:
    info = await svc.js.stream_info(svc.topology.logs_stream)
    return int(info.state.last_seq)


def delivered(item: StoredEvent, execution_id: UUID) -> None:
    """With tracing on, an `SSE delivered` span in the trace the event was stored with."""
    if item.traceparent is not None and tracing.enabled():
        tracing.mark(
            f"deliver {item.type}",
            item.traceparent,
            SpanKind.PRODUCER,
            {"execflow.execution_id": str(execution_id), "execflow.event.version": item.version},
        )
