"""Traces: one per execution, across every service, when an exporter is configured.

Tracing is on when the standard OpenTelemetry variables ask for an exporter:
`OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set, or
`OTEL_TRACES_EXPORTER=otlp|console`; `OTEL_TRACES_EXPORTER=none` or
`OTEL_SDK_DISABLED=true` turn it off. OTLP goes over HTTP (`http/protobuf`, the
specification's default) or gRPC (`OTEL_EXPORTER_OTLP[_TRACES]_PROTOCOL=grpc`); the
exporter, the batch processor, the sampler and the resource read their own `OTEL_*`
variables as usual. Off, every helper here returns at its first line: no span is made,
no header sent and nothing stored with the events.

The trace context crosses the bus as a W3C `traceparent` header, and is stored with each
event (see `ExecutionEvent.traceparent`): a relay publishing after a crash, a timer that
fires an hour later and a retry all continue the trace of the command that caused them.
"""

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from execflow_contracts import TRACEPARENT_HEADER

log = logging.getLogger(__name__)

Attributes = Mapping[str, str | int | float | bool]

_PROPAGATOR = TraceContextTextMapPropagator()


class _Tracing:
    """This process's tracer while tracing is on."""

    tracer: trace.Tracer | None = None
    provider: TracerProvider | None = None


_on = _Tracing()


def exporter_wanted(env: Mapping[str, str]) -> str | None:
    """Which exporter the OTEL_* variables ask for: "otlp", "console", or None (off)."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    named = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if named in ("otlp", "console"):
        return named
    if named == "none":
        return None
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    return "otlp" if endpoint else None


def _exporter(kind: str, env: Mapping[str, str]) -> SpanExporter:
    if kind == "console":
        return ConsoleSpanExporter()
    protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
    )
    if protocol.strip().lower() == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        return GrpcExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    return HttpExporter()


def setup_tracing(service: str, env: Mapping[str, str] | None = None) -> bool:
    """Start tracing for this process if the environment asks for it; True if it does.
    `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` override the service's name."""
    env = os.environ if env is None else env
    kind = exporter_wanted(env)
    if kind is None:
        return False
    resource = Resource.create({SERVICE_NAME: f"execflow-{service}"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(_exporter(kind, env)))
    trace.set_tracer_provider(provider)
    _on.provider = provider
    _on.tracer = provider.get_tracer("execflow")
    log.info("tracing on: %s exporter", kind)
    return True


def shutdown_tracing() -> None:
    """Export what is left (at a clean stop)."""
    if _on.provider is not None:
        _on.provider.shutdown()
    _on.tracer, _on.provider = None, None


def enabled() -> bool:
    return _on.tracer is not None


def context_of(traceparent: str | None) -> Context | None:
    """The context a stored or received `traceparent` stands for (None: a new trace)."""
    if traceparent is None:
        return None
    return _PROPAGATOR.extract({TRACEPARENT_HEADER: traceparent})


def traceparent_of(span: Span) -> str | None:
    """The W3C `traceparent` of a span: what a message it causes carries."""
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def headers(traceparent: str | None) -> dict[str, str] | None:
    """The bus headers that carry a trace context (None when there is none)."""
    return {TRACEPARENT_HEADER: traceparent} if traceparent else None


def current_traceparent() -> str | None:
    """The `traceparent` of the span current in this task or thread, if tracing is on."""
    if _on.tracer is None:
        return None
    return traceparent_of(trace.get_current_span())


def start(
    name: str,
    parent: str | None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Attributes | None = None,
    start_ns: int | None = None,
    links: list[str] | None = None,
) -> Span | None:
    """A span under the stored or received `parent` (or the current span if None); the
    caller ends it. None if tracing is off."""
    if _on.tracer is None:
        return None
    linked = [Link(trace.get_current_span(c).get_span_context()) for c in _contexts(links)]
    return _on.tracer.start_span(
        name,
        context=context_of(parent),
        kind=kind,
        attributes=attributes,
        start_time=start_ns,
        links=linked or None,
    )


def _contexts(traceparents: list[str] | None) -> list[Context]:
    return [c for t in traceparents or [] if (c := context_of(t)) is not None]


def record(
    name: str,
    parent: str | None,
    start_ns: int,
    end_ns: int,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Attributes | None = None,
) -> str | None:
    """A span that already happened (from `start_ns` to `end_ns`); its `traceparent`."""
    span = start(name, parent, kind, attributes, start_ns)
    if span is None:
        return None
    span.end(end_ns)
    return traceparent_of(span)


def mark(name: str, parent: str | None, kind: SpanKind, attributes: Attributes) -> str | None:
    """A moment in the trace (a step dispatched, a timer fired): a span that ends where it
    starts; its `traceparent`, for the message it sends. None if tracing is off."""
    span = start(name, parent, kind, attributes)
    if span is None:
        return None
    span.end()
    return traceparent_of(span)


@contextmanager
def span(
    name: str,
    parent: str | None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Attributes | None = None,
    links: list[str] | None = None,
) -> Iterator[Span | None]:
    """A span current for the block (what it sends carries it); None if tracing is off."""
    started = start(name, parent, kind, attributes, links=links)
    if started is None:
        yield None
        return
    with trace.use_span(started, end_on_exit=True):
        yield started


@contextmanager
def current(started: Span | None) -> Iterator[None]:
    """Make a span current for the block without ending it (nothing if None)."""
    if started is None:
        yield
        return
    with trace.use_span(started, end_on_exit=False):
        yield


def annotate(attributes: Mapping[str, Any]) -> None:
    """Set attributes on the current span (if tracing is on); None values are left out."""
    if _on.tracer is not None:
        current = trace.get_current_span()
        for key, value in attributes.items():
            if value is not None:
                current.set_attribute(key, value)


def fail(span: Span | None, reason: str) -> None:
    if span is not None:
        span.set_status(Status(StatusCode.ERROR, reason))


def trace_id(traceparent: str | None) -> str | None:
    """The trace id in a `traceparent` (`00-<trace id>-<span id>-<flags>`)."""
    if not traceparent:
        return None
    parts = traceparent.split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None
