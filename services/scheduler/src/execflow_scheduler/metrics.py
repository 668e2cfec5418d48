"""The scheduler's Prometheus metrics."""

from prometheus_client import Counter, Histogram

COMMANDS = Counter(
    "execflow_commands",
    "Commands handled, by type and outcome (accepted, refused, unapplicable)",
    ["type", "outcome"],
)
EVENTS_STORED = Counter("execflow_events_stored", "Events saved to the event store", ["type"])
BATCH_SIZE = Histogram(
    "execflow_command_batch_size",
    "Commands applied and saved together in one transaction",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
BATCH_SECONDS = Histogram(
    "execflow_command_batch_seconds",
    "From a batch of commands fetched to its events saved",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
TIMERS_FIRED = Counter("execflow_timers_fired", "Durable timers fired (as FireTimer commands)")
