"""What the dialects share: absolute URLs, as some seeds' clients expect them."""

from fastapi import Request


def absolute(request: Request, url: str | None) -> str | None:
    """`url` (a path of this API) as the client reached it: scheme, host and port."""
    if url is None or "://" in url:
        return url
    return str(request.base_url).rstrip("/") + url
