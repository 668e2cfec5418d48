"""execflow's scheduler: applies commands to Execution aggregates and publishes events."""

from .application import ExecutionsApplication
from .settings import SchedulerSettings
from .wiring import build_application, serve

__all__ = ["ExecutionsApplication", "SchedulerSettings", "build_application", "serve"]
