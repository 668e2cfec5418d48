"""The projections: each applies one kind of message to its read model."""

from . import executions, logs

__all__ = ["executions", "logs"]
