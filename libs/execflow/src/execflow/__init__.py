"""execflow's client library and CLI."""

from . import step
from .async_client import AsyncClient
from .client import ApiError, ApiUnavailable, Client, ClientError, UnexpectedAnswer, dump
from .sse import ServerEvent

__all__ = [
    "ApiError",
    "ApiUnavailable",
    "AsyncClient",
    "Client",
    "ClientError",
    "ServerEvent",
    "UnexpectedAnswer",
    "dump",
    "step",
]
