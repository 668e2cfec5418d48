"""The projections: each applies one kind of message to its read model."""

from . import event_log, executions, listing, logs

__all__ = ["event_log", "executions", "listing", "logs"]
