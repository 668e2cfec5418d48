"""The streams are NATS's, and NATS can lose them (its data folder wiped, a stream
deleted by hand). The event store is the truth: each service makes the streams again as
soon as it finds them gone, and learns that they were made anew (their creation time
changed), so that it binds its consumers again and, where it keeps positions in a
stream, reads it from its start. `execflow repair` does the same thing on demand."""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

import nats.errors
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from execflow_contracts import Topology

from .bus import ensure_streams, stream_configs

log = logging.getLogger(__name__)

CHECK_EVERY_S = 2.0


class StreamKeeper:
    def __init__(
        self, js: JetStreamContext, topology: Topology, every_s: float = CHECK_EVERY_S
    ) -> None:
        self._js = js
        self._topology = topology
        self._every_s = every_s
        self._created: dict[str, datetime | None] = {}
        # Moves on each time a stream is found made anew since the last look.
        self.generation = 0
        self.changed = asyncio.Event()

    def moved_on(self) -> Callable[[], bool]:
        """A test that holds once a stream is made anew after this call."""
        generation = self.generation
        return lambda: self.generation != generation

    def created(self, stream: str) -> datetime | None:
        """When `stream` was made, as last seen."""
        return self._created.get(stream)

    async def check(self) -> set[str]:
        """Make any missing stream again; the streams found made anew."""
        remade: set[str] = set()
        for config in stream_configs(self._topology):
            name = str(config.name)
            try:
                info = await self._js.stream_info(name)
            except NotFoundError:
                log.warning("stream %s is gone: making the streams again", name)
                await ensure_streams(self._js, self._topology)
                info = await self._js.stream_info(name)
            seen = self._created.get(name)
            if name in self._created and seen != info.created:
                log.warning("stream %s was made anew (%s, was %s)", name, info.created, seen)
                remade.add(name)
            self._created[name] = info.created
        if remade:
            self.generation += 1
            self.changed.set()
        return remade

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._every_s)
            try:
                await self.check()
            except (nats.errors.Error, TimeoutError) as exc:
                log.debug("streams not checked (the bus is away?): %r", exc)
