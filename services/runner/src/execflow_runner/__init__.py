"""execflow's runner: leases step work and runs it on a backend."""

from .settings import RunnerSettings
from .wiring import serve
from .worker import Worker

__all__ = ["RunnerSettings", "Worker", "serve"]
