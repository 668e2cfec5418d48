"""The scheduler's domain: the Execution aggregate, its events and lifecycle rules."""

from . import events
from .events import StepState
from .execution import Execution
from .lifecycle import ALLOWED_MOVES, can_move, status_called_for, transition_type

__all__ = [
    "ALLOWED_MOVES",
    "Execution",
    "StepState",
    "can_move",
    "events",
    "status_called_for",
    "transition_type",
]
