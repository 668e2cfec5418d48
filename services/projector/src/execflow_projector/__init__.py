"""execflow's projector: read models built from events and logs."""

from .schema import migrate
from .settings import ProjectorSettings
from .wiring import serve

__all__ = ["ProjectorSettings", "migrate", "serve"]
