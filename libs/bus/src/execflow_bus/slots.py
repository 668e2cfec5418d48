"""Taking work from many consumers at once (a runner's queues, a function worker's
queues and functions), at most `capacity` steps at a time.

Each consumer has a pull of its own waiting on the server, so a step of any function
starts as soon as it comes; before it pulls, a consumer reserves the slots it may fill
(a fair share of the capacity, at least one), and gives back those its pull did not.
"""

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from .stream_keeper import StreamKeeper
from .taking import fetch_work


class Slots:
    """At most `capacity` slots taken at once, handed out first come, first served: a
    taker that gives slots back and asks again at once waits behind those already
    waiting (else the quick ones could keep a slow queue's pull from ever pulling)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.busy = 0
        self._waiting: deque[asyncio.Future[int]] = deque()
        self._closed = False

    async def take(self, most: int) -> int:
        """Reserve up to `most` slots, waiting for one; 0 once closed."""
        if self._closed:
            return 0
        if self.busy < self.capacity and not self._waiting:
            return self._grab(most)
        turn: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            handed = await turn  # one slot, handed over by `give_back` (0: closed)
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.give_back(turn.result())
            elif turn in self._waiting:
                self._waiting.remove(turn)
            raise
        return handed + self._grab(most - handed) if handed else 0

    def give_back(self, n: int = 1) -> None:
        """Free `n` slots (negative: count `-n` more taken), and hand each to the next
        waiting taker."""
        self.busy -= n
        while self._waiting and self.busy < self.capacity:
            turn = self._waiting.popleft()
            if not turn.done():
                self.busy += 1
                turn.set_result(1)

    def close(self) -> None:
        self._closed = True
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(0)

    def _grab(self, most: int) -> int:
        taken = max(0, min(most, self.capacity - self.busy))
        self.busy += taken
        return taken


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
