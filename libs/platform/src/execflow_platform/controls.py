"""Stop requests and answers to questions, followed by whoever runs steps: runners, and
the API on behalf of its remote agents.

Stops are remembered (the latest ones), so that work asked to stop before it was taken
is never started. They are read from the EVENTS stream through ordered consumers, not
plain subscriptions: one that lost the bus for a while reads on from the last event it
had, so a stop or an answer sent meanwhile is not missed.
"""

from collections import OrderedDict
from collections.abc import Callable
from uuid import UUID

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import DeliverPolicy
from pydantic import ValidationError

from execflow_contracts import InputProvided, StepStopRequested, Topology, parse_event

REMEMBERED_STOPS = 10_000
# How soon an ordered consumer notices that its server lost it, and makes another.
HEARTBEAT_S = 2.0


class StepControls:
    def __init__(
        self,
        on_stop: Callable[[StepStopRequested], None],
        on_answer: Callable[[InputProvided], None],
    ) -> None:
        self._on_stop = on_stop
        self._on_answer = on_answer
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
            for name in ("StepStopRequested", "InputProvided")
        ]

    async def close(self) -> None:
        for subscription in self._subscriptions:
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
