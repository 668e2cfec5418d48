"""The runner's Prometheus metrics."""

from prometheus_client import Gauge, Histogram

from execflow_telemetry.metrics import Watched

STEPS_RUNNING = Gauge("execflow_steps_running", "Steps this runner runs now", ["queue"])
SLOTS = Gauge("execflow_runner_slots", "Steps this runner may run at once (its capacity)")
SLOTS_USED = Gauge("execflow_runner_slots_used", "Slots taken by steps this runner holds")
STEP_SECONDS = Histogram(
    "execflow_step_duration_seconds",
    "From a step's work taken to its finish reported, by workflow ('' if none) and queue",
    ["workflow", "queue"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
WORK_WAITING = Gauge(
    "execflow_work_waiting", "Step work on the queue that no runner has taken yet", ["queue"]
)
WORK_LEASED = Gauge(
    "execflow_work_leased", "Step work on the queue leased to runners or agents", ["queue"]
)


class WorkHook:
    """What a runner consumer's numbers say about its queue's work (`queues`: consumer →
    queue)."""

    def __init__(self, queues: dict[str, str]) -> None:
        self._queues = queues

    def __call__(self, watched: Watched, pending: int, ack_pending: int) -> None:
        queue = self._queues[watched.consumer]
        WORK_WAITING.labels(queue).set(pending)
        WORK_LEASED.labels(queue).set(ack_pending)
