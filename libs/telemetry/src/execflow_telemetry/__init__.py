"""Traces, metrics and logs: how an operator sees what execflow does.

`tracing`: one trace per execution, its context in each message's `traceparent` header
and stored with each event (off, and free, unless an OTLP exporter is configured).
`metrics`: Prometheus metrics, and the bus's own. `logs`: readable or JSON lines that say
which execution, step and trace they are about.
"""

from . import metrics, tracing
from .logs import LogFormat, configure, execution_scope

__all__ = ["LogFormat", "configure", "execution_scope", "metrics", "tracing"]
