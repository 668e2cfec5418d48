"""Logs: readable lines by default; with `EXECFLOW_LOG_FORMAT=json`, one JSON object a
line (`time`, `level`, `service`, `logger`, `message`, and `execution_id`, `step_id`,
`trace_id`, `span_id` where they are known), formatted by python-json-logger.

Which execution and step a line is about comes from `execution_scope` (a context
variable, so it follows a task or a thread); the trace and span from the current span.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal
from uuid import UUID

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["text", "json"]

_execution: ContextVar[str | None] = ContextVar("execflow_execution", default=None)
_step: ContextVar[str | None] = ContextVar("execflow_step", default=None)


@contextmanager
def execution_scope(execution_id: UUID | str, step_id: str | None = None) -> Iterator[None]:
    """Log lines written in the block say which execution (and step) they are about."""
    execution = _execution.set(str(execution_id))
    step = _step.set(step_id)
    try:
        yield
    finally:
        _step.reset(step)
        _execution.reset(execution)


class ExecutionFields(logging.Filter):
    """Adds the execution, the step and the current trace and span to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.execution_id = _execution.get()
        record.step_id = _step.get()
        context = trace.get_current_span().get_span_context()
        record.trace_id = f"{context.trace_id:032x}" if context.is_valid else None
        record.span_id = f"{context.span_id:016x}" if context.is_valid else None
        return True


JSON_FIELDS = ("levelname", "name", "message")
EXECUTION_FIELDS = ("execution_id", "step_id", "trace_id", "span_id")


def json_formatter(service: str) -> JsonFormatter:
    return JsonFormatter(
        [*JSON_FIELDS, *EXECUTION_FIELDS],
        rename_fields={"levelname": "level", "name": "logger"},
        static_fields={"service": service},
        timestamp="time",  # ISO 8601, UTC
    )


def configure(level: str, service: str, log_format: LogFormat = "text") -> None:
    """The one place a service's logging is set up (see `lifecycle.run_service`)."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(json_formatter(service))
        handler.addFilter(ExecutionFields())
    else:
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s")
        )
    logging.basicConfig(level=level, handlers=[handler], force=True)
