"""The Docker engine whose execflow containers the API lists and removes.

Connected on first use, not at start: the API serves everything else without an
engine, and answers 503 with the reason on the endpoints that need one.
"""

import asyncio
from collections.abc import Callable
from typing import TypeVar

import requests
from docker import DockerClient
from docker.errors import DockerException
from fastapi import HTTPException, status

T = TypeVar("T")


class DockerEngine:
    def __init__(self, host: str | None) -> None:
        self._host = host
        self._client: DockerClient | None = None

    async def call(self, operation: Callable[[DockerClient], T]) -> T:
        """Run a blocking SDK operation in a thread; 503 if the engine does not answer."""
        try:
            if self._client is None:
                self._client = await asyncio.to_thread(self._connect)
            return await asyncio.to_thread(operation, self._client)
        except (DockerException, requests.RequestException) as exc:
            self.close()  # reconnect next time: the engine may come back
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, f"no Docker engine is reachable: {exc}"
            ) from None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _connect(self) -> DockerClient:
        # Both ask the engine its API version, so an absent engine fails here.
        if self._host:
            return DockerClient(base_url=self._host)
        return DockerClient.from_env()
