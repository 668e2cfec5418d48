"""Where steps run. `process` is the default; others arrive later."""

from .base import AttemptKey, Backend, Outcome, attempt_key
from .process import ProcessBackend

__all__ = ["AttemptKey", "Backend", "Outcome", "ProcessBackend", "attempt_key"]
