"""A worker's entry in the worker registry (a runner's or a function worker's), refreshed
every third of its TTL."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import nats.errors
from nats.js.errors import BucketNotFoundError, NoStreamResponseError
from nats.js.kv import KeyValue

from execflow_contracts import RunningStep, WorkerInfo

from .registry import deregister, register

log = logging.getLogger(__name__)


class Registration:
    def __init__(
        self,
        kv: KeyValue,
        me: WorkerInfo,
        running: Callable[[], list[RunningStep]],
        ttl_s: float,
        remake: Callable[[], Awaitable[KeyValue]] | None = None,
    ) -> None:
        self._kv = kv
        # Makes the bucket again, should NATS have lost it (its data folder wiped).
        self._remake = remake
        self._me = me
        self._running = running
        self._ttl_s = ttl_s

    async def beat(self) -> None:
        now = datetime.now(UTC)
        await register(
            self._kv,
            self._me.model_copy(update={"running": self._running(), "last_heartbeat": now}),
        )

    async def keep_alive(self) -> None:
        """Heartbeat until cancelled; a missed beat is retried, not fatal."""
        while True:
            await asyncio.sleep(self._ttl_s / 3)
            try:
                await self.beat()
            except (
                nats.errors.NoRespondersError,
                NoStreamResponseError,
                BucketNotFoundError,
            ) as exc:
                log.warning("worker registry gone (%r): making it again", exc)
                if self._remake is not None:
                    with contextlib.suppress(nats.errors.Error, TimeoutError):
                        self._kv = await self._remake()
            except (nats.errors.Error, TimeoutError) as exc:
                log.warning("worker registry heartbeat failed: %r", exc)

    async def leave(self) -> None:
        """Gone at once on a clean stop, rather than after the TTL."""
        with contextlib.suppress(nats.errors.Error, TimeoutError):
            await deregister(self._kv, self._me.id)
