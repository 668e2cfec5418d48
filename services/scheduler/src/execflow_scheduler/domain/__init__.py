"""The scheduler's domain: the Execution aggregate and its lifecycle rules."""

from .execution import Execution, StepState
from .lifecycle import ALLOWED_MOVES, can_move, status_called_for, transition_type

__all__ = [
    "ALLOWED_MOVES",
    "Execution",
    "StepState",
    "can_move",
    "status_called_for",
    "transition_type",
]
