"""execflow's REST API."""

from .settings import ApiSettings
from .wiring import create_app

__all__ = ["ApiSettings", "create_app"]
