"""Request bodies are bounded before anything parses them.

A body larger than `max_bytes` is refused with 413 and the reason: at once when its
`Content-Length` says so, else as soon as the bytes streamed in (chunked) pass the
bound, so no more than `max_bytes` is ever held. Below the bound the body is read here
and handed on whole (every route that reads a body reads all of it anyway). Routes that
stream a body to storage and bound it themselves (a remote agent's artifact upload) are
passed through untouched.
"""

import re
from collections.abc import Callable

from fastapi import status
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from execflow_contracts import ErrorCode

Exempt = Callable[[str], bool]


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, exempt: Exempt) -> None:
        self._app = app
        self._max_bytes = max_bytes
        self._exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._exempt(scope["path"]):
            await self._app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is None or declared > self._max_bytes:
            reason = (
                "Content-Length is not a number of bytes"
                if declared is None
                else f"the body has {declared} bytes; at most {self._max_bytes} are read"
            )
            await _refuse(scope, receive, send, reason, declared is not None)
            return
        chunks: list[bytes] = []
        size, more, last = 0, True, None
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: say so
                last = message
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self._max_bytes:
                reason = f"the body has more than {self._max_bytes} bytes; at most that is read"
                await _refuse(scope, receive, send, reason, True)
                return
            more = message.get("more_body", False)
        await self._app(scope, _replay(b"".join(chunks), last, receive), send)


def _content_length(scope: Scope) -> int | None:
    """The declared length (0 when none is declared); None when it is not a number."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return 0


def _replay(body: bytes, last: Message | None, receive: Receive) -> Receive:
    """The body read already, as one message; then what the client sends (a disconnect)."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if not given:
            given = True
            return last or {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _refuse(scope: Scope, receive: Receive, send: Send, reason: str, large: bool) -> None:
    refusal = JSONResponse(
        {"error": ErrorCode.BODY_TOO_LARGE.value if large else "invalid_request", "reason": reason},
        status_code=status.HTTP_413_CONTENT_TOO_LARGE if large else status.HTTP_400_BAD_REQUEST,
        # The rest of the body is not read: the connection cannot carry another request.
        headers={"Connection": "close"},
    )
    await refusal(scope, receive, send)


def pattern(*regexes: str) -> Exempt:
    """Exempt the paths matching any of these."""
    compiled = re.compile("|".join(f"(?:{r})" for r in regexes))
    return lambda path: compiled.fullmatch(path) is not None
