"""The projector's Prometheus metrics."""

from prometheus_client import Counter, Histogram

PROJECTED = Counter(
    "execflow_projected_messages", "Messages applied to the read models", ["consumer"]
)
PROJECTION_LAG = Histogram(
    "execflow_projection_lag_seconds",
    "From an event's time (its save) to its batch committed in the read models",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60),
)
BATCH_SECONDS = Histogram(
    "execflow_projection_batch_seconds",
    "One batch applied in its transaction (retries included)",
    ["consumer"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
