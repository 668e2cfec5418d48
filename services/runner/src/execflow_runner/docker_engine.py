"""Connecting to a Docker engine, when the settings and the machine allow it."""

import asyncio
import logging

from docker import DockerClient
from docker.errors import DockerException

from .settings import RunnerSettings

log = logging.getLogger(__name__)


async def open_docker(settings: RunnerSettings) -> DockerClient | None:
    """A client of an engine that answered, or None when Docker is off or absent (auto)."""
    if settings.docker == "off":
        return None
    try:
        return await asyncio.to_thread(_connect, settings)
    except DockerException as exc:
        if settings.docker == "on":
            raise
        log.info("no Docker engine (%s): this runner runs process steps only", exc)
        return None


def _connect(settings: RunnerSettings) -> DockerClient:
    # One connection per running container (its output) plus a few for short calls.
    pool = settings.capacity + 4
    client = (
        DockerClient(base_url=settings.docker_host, max_pool_size=pool)
        if settings.docker_host
        else DockerClient.from_env(max_pool_size=pool)
    )  # both ask the engine its API version: this is where an absent engine shows
    client.ping()
    return client
