"""Holding a work message while its step runs: the lease, for runners and function
workers alike."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg

log = logging.getLogger(__name__)


class LeaseKeeper:
    """Heartbeat: tells the bus every third of the lease that its holder (a runner, a
    function worker) still works on the message, and makes sure the bus heard it (a flush:
    a round trip to the server). A holder that cannot reach the bus for longer than the
    lease has lost it: the work
    may be running elsewhere by now, so `on_lost` is called (once), and the step is
    stopped. Timers rather than a task per step: most steps end before the first beat."""

    def __init__(
        self, nc: Client, message: Msg, lease_s: float, on_lost: Callable[[], None]
    ) -> None:
        self._nc = nc
        self._message = message
        self._lease_s = lease_s
        self._every_s = lease_s / 3
        self._on_lost = on_lost
        self._confirmed = time.monotonic()
        self.lost = False
        self._beating: set[asyncio.Task[None]] = set()
        self._timer = asyncio.get_running_loop().call_later(self._every_s, self._beat)

    def stop(self) -> None:
        self._timer.cancel()

    def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        if time.monotonic() - self._confirmed > self._lease_s and not self.lost:
            self.lost = True
            log.warning("lease of %s lost: the bus was out of reach", self._message.subject)
            self._on_lost()
            return
        task = loop.create_task(self._in_progress())
        self._beating.add(task)
        task.add_done_callback(self._beating.discard)
        self._timer = loop.call_later(self._every_s, self._beat)

    async def _in_progress(self) -> None:
        with contextlib.suppress(nats.errors.Error, TimeoutError):
            await self._message.in_progress()
            await self._nc.flush(timeout=max(1, int(self._every_s)))
            self._confirmed = time.monotonic()
