"""Telemetry's switches and shapes: tracing off unless an exporter is asked for (and then
every helper does nothing), and the JSON log lines' fields."""

import io
import json
import logging

import pytest
from opentelemetry.trace import SpanKind

from execflow_telemetry import execution_scope, tracing
from execflow_telemetry.logs import ExecutionFields, json_formatter

ENDPOINT = "http://127.0.0.1:4318"


@pytest.mark.parametrize(
    ("env", "wanted"),
    [
        ({}, None),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, "otlp"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{ENDPOINT}/v1/traces"}, "otlp"),
        ({"OTEL_TRACES_EXPORTER": "console"}, "console"),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, None),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, None),
    ],
)
def test_tracing_is_on_only_when_the_otel_variables_ask_for_an_exporter(
    env: dict[str, str], wanted: str | None
) -> None:
    assert tracing.exporter_wanted(env) == wanted


def test_off_no_span_is_made_and_no_header_sent() -> None:
    assert not tracing.enabled()
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert tracing.start("x", parent) is None
    assert tracing.mark("x", parent, SpanKind.PRODUCER, {}) is None
    assert tracing.current_traceparent() is None
    assert tracing.headers(None) is None
    with tracing.span("x", parent) as span:
        assert span is None
    assert tracing.trace_id(parent) == "0af7651916cd43dd8448eb211c80319c"


def test_a_json_line_says_which_execution_and_step_it_is_about() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(json_formatter("runner"))
    handler.addFilter(ExecutionFields())
    logger = logging.getLogger("test.telemetry")
    logger.addHandler(handler)
    try:
        with execution_scope("e-1", "fetch"):
            logger.warning("step %s said %s", "fetch", "hello")
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
    inside, outside = (json.loads(line) for line in out.getvalue().splitlines())
    assert inside["message"] == "step fetch said hello"
    assert (inside["level"], inside["service"], inside["logger"]) == (
        "WARNING",
        "runner",
        "test.telemetry",
    )
    assert (inside["execution_id"], inside["step_id"]) == ("e-1", "fetch")
    assert inside["trace_id"] is None and "time" in inside  # no span: tracing is off
    assert outside["execution_id"] is None
