"""What a runner tells an operator about a step it runs: a span for the run, continuing
the trace of its dispatch (tracing on; the step's reports and log lines carry it), its
log lines tagged with the execution and step, and the metrics (always)."""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from nats.aio.msg import Msg

from execflow_contracts import StepWork
from execflow_telemetry import execution_scope, steps, tracing

from .metrics import STEP_SECONDS, STEPS_RUNNING


@contextmanager
def observed_run(message: Msg, work: StepWork, worker: str) -> Iterator[None]:
    started = time.perf_counter()
    running = STEPS_RUNNING.labels(work.queue_key)
    running.inc()
    span = steps.start_run(message, work, worker)
    try:
        with execution_scope(work.execution_id, work.step_id), tracing.current(span):
            yield
    except BaseException as exc:
        tracing.fail(span, repr(exc))
        raise
    finally:
        if span is not None:
            span.end()
        running.dec()
        STEP_SECONDS.labels(work.workflow_id or "", work.queue_key).observe(
            time.perf_counter() - started
        )
