"""Taking work from many consumers at once (a runner's queues, a function worker's
queues and functions), at most `capacity` steps at a time.

Each consumer has a pull of its own waiting on the server, so a step of any function
starts as soon as it comes; before it pulls, a consumer reserves the slots it may fill
(a fair share of the capacity, at least one), and gives back those its pull did not.
"""

import asyncio
from collections.abc import Awaitable, Callable

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from .stream_keeper import StreamKeeper
from .taking import fetch_work


class Slots:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.busy = 0
        self._freed = asyncio.Event()
        self._closed = False

    async def take(self, most: int) -> int:
        """Reserve up to `most` slots, waiting for one; 0 once closed."""
        while self.busy >= self.capacity and not self._closed:
            self._freed.clear()
            await self._freed.wait()
        if self._closed:
            return 0
        taken = min(most, self.capacity - self.busy)
        self.busy += taken
        return taken

    def give_back(self, n: int = 1) -> None:
        self.busy -= n
        self._freed.set()

    def close(self) -> None:
        self._closed = True
        self._freed.set()


async def take_work(
    subscribe: Callable[[], Awaitable[JetStreamContext.PullSubscription]],
    keeper: StreamKeeper,
    slots: Slots,
    share: int,
    start: Callable[[Msg], None],
    stop: asyncio.Event,
) -> None:
    """Take this consumer's work until `stop`; `start` runs one message's step, which
    gives its slot back when it ends. A stream made anew (NATS lost it) has the consumer
    bound again."""
    moved_on = keeper.moved_on()
    subscription = await subscribe()
    while not stop.is_set():
        if moved_on():
            moved_on = keeper.moved_on()
            subscription = await subscribe()
        reserved = await slots.take(share)
        if reserved == 0:
            return
        messages = await fetch_work(subscription, reserved, stop)
        if messages is None:
            slots.give_back(reserved)
            return
        # A pull can bring messages an earlier one left behind: they run too, over the
        # capacity for a moment, rather than wait for their lease to lapse.
        slots.give_back(reserved - len(messages))
        for message in messages:
            start(message)
