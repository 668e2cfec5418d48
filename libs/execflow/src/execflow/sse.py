"""The execflow API's live streams (text/event-stream), read with httpx-sse."""

from httpx_sse import EventSource
from httpx_sse import ServerSentEvent as ServerEvent

__all__ = ["EventSource", "ServerEvent"]
