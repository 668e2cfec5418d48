"""Where steps run. `process` is the default; others arrive later."""

from .base import Backend, Outcome
from .process import ProcessBackend

__all__ = ["Backend", "Outcome", "ProcessBackend"]
