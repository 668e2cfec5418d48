"""Stop requests and answers to questions, followed by whoever runs steps: runners, and
the API on behalf of its remote agents.

Stops are remembered (the latest ones), so that work asked to stop before it was taken
is never started. They are read from the EVENTS stream through ordered consumers, not
plain subscriptions: one that lost the bus for a while reads on from the last event it
had, so a stop or an answer sent meanwhile is not missed.
"""

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable
from uuid import UUID

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import DeliverPolicy
from pydantic import ValidationError

from execflow_contracts import (
    ExecutionExpired,
    InputProvided,
    StepStopRequested,
    Topology,
    parse_event,
)

from .stream_keeper import StreamKeeper

REMEMBERED_STOPS = 10_000
# How soon an ordered consumer notices that its server lost it, and makes another.
HEARTBEAT_S = 2.0
REFOLLOW_CHECK_S = 1.0


class StepControls:
    def __init__(
        self,
        on_stop: Callable[[StepStopRequested], None],
        on_answer: Callable[[InputProvided], None],
        on_expired: Callable[[ExecutionExpired], None] | None = None,
    ) -> None:
        self._on_stop = on_stop
        self._on_answer = on_answer
        # Where a step's workspace is kept: the execution's time to live is over.
        self._on_expired = on_expired
        self._stopped: OrderedDict[tuple[UUID, str, int], str] = OrderedDict()
        self._subscriptions: list[Subscription] = []

    async def follow(self, nc: Client, topology: Topology) -> None:
        js = nc.jetstream()
        self._subscriptions = [
            await js.subscribe(
                topology.events_of_type(name),
                stream=topology.events_stream,
                cb=self._on_event,
                ordered_consumer=True,
                deliver_policy=DeliverPolicy.NEW,
                idle_heartbeat=HEARTBEAT_S,
            )
            for name in self._followed()
        ]

    def _followed(self) -> tuple[str, ...]:
        expiry = ("ExecutionExpired",) if self._on_expired is not None else ()
        return ("StepStopRequested", "InputProvided", *expiry)

    async def keep_following(
        self, nc: Client, topology: Topology, keeper: StreamKeeper, stop: asyncio.Event
    ) -> None:
        """Follow until `stop`, again whenever EVENTS is made anew (an ordered consumer
        would resume at a sequence the new stream has not reached)."""
        await self.follow(nc, topology)
        moved_on = keeper.moved_on()
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), REFOLLOW_CHECK_S)
                if moved_on() and not stop.is_set():
                    moved_on = keeper.moved_on()
                    await self.close()
                    await self.follow(nc, topology)
        finally:
            await self.close()

    async def close(self) -> None:
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            with contextlib.suppress(Exception):  # gone with its server already
                await subscription.unsubscribe()

    def stop_reason(self, execution_id: UUID, step_id: str, attempt: int) -> str | None:
        """Why this attempt was asked to stop, if it was."""
        return self._stopped.get((execution_id, step_id, attempt))

    async def _on_event(self, message: Msg) -> None:
        try:
            event = parse_event(message.data)
        except ValidationError:
            return
        if isinstance(event, StepStopRequested):
            self._stopped[(event.execution_id, event.step_id, event.attempt)] = event.reason
            while len(self._stopped) > REMEMBERED_STOPS:
                self._stopped.popitem(last=False)
            self._on_stop(event)
        elif isinstance(event, InputProvided):
            self._on_answer(event)
        elif isinstance(event, ExecutionExpired) and self._on_expired is not None:
            self._on_expired(event)
