"""The projections: each applies a batch of one kind of message to its read model."""

from . import batch, event_log, executions, listing, logs, notices, rollup, rows, steps

__all__ = [
    "batch",
    "event_log",
    "executions",
    "listing",
    "logs",
    "notices",
    "rollup",
    "rows",
    "steps",
]
