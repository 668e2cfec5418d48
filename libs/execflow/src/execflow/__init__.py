"""execflow's client library and CLI."""

from . import step
from .client import ApiError, ApiUnavailable, Client, ClientError
from .sse import ServerEvent

__all__ = ["ApiError", "ApiUnavailable", "Client", "ClientError", "ServerEvent", "step"]
