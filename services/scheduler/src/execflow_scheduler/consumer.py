"""The command loop: fetch a batch, apply and save it, then publish and acknowledge it
while the next batch is fetched and applied."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from uuid import UUID

from eventsourcing.persistence import Recording
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pydantic import ValidationError

from execflow_contracts import (
    REPLY_TO_HEADER,
    AnyCommand,
    CommandOutcome,
    ErrorCode,
    ExecflowError,
    ReportStepClaimed,
    ReportStepStarted,
    Topology,
    parse_command,
)
from execflow_platform import StreamKeeper, consume, dead_letter, fetch

from .application import ExecutionsApplication, WriterFenced
from .observing import BatchObserved
from .relay import Relay

log = logging.getLogger(__name__)

RETRY_DELAY_S = 1.0
# How long a batch of nothing but start reports waits for the steps' finish reports.
START_PAIRING_S = 0.005


class CommandConsumer:
    def __init__(
        self,
        subscription: JetStreamContext.PullSubscription,
        nc: Client,
        app: ExecutionsApplication,
        relay: Relay,
        topology: Topology,
        batch_size: int,
        keeper: StreamKeeper,
        subscribe: Callable[[], Awaitable[JetStreamContext.PullSubscription]],
        resolve: Callable[[AnyCommand], Awaitable[AnyCommand]] | None = None,
    ) -> None:
        self._subscription = subscription
        self._keeper = keeper
        self._subscribe = subscribe
        self._nc = nc
        self._js = nc.jetstream()
        self._app = app
        self._relay = relay
        self._topology = topology
        self._batch_size = batch_size
        # Completes a create that names a registered workflow (see resolving.py).
        self._resolve = resolve
        self._publishing: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._publishing.set_result(None)
        self._stop = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        try:
            while not stop.is_set():
                await consume(
                    self._subscription,
                    self._batch_size,
                    self.process,
                    stop,
                    until=self._keeper.moved_on(),
                )
                if not stop.is_set():  # its stream was made anew: bind its consumer again
                    self._subscription = await self._subscribe()
        finally:
            await self._publishing  # the last batch's events are out before we stop

    async def process(self, messages: Sequence[Msg]) -> None:
        commands: list[AnyCommand] = []
        accepted: list[Msg] = []
        await self._parse(messages, commands, accepted)
        if commands and all(isinstance(c, ReportStepStarted | ReportStepClaimed) for c in commands):
            # A start is on no one's critical path, and the finish report of a step a
            # little longer than the runner holds its start for (steps shorter than that
            # send no start report) may be a moment behind it: applied together they are
            # one transaction, and the finish does not wait for the start's. (The reports
            # are stored on the bus already: waiting loses nothing.)
            room = max(1, self._batch_size - len(messages))
            later = await fetch(self._subscription, room, START_PAIRING_S)
            await self._parse(later, commands, accepted)
        if not commands:
            return
        observed = BatchObserved(accepted, commands)
        self._relay.prepare()
        try:
            recordings, outcomes = await asyncio.to_thread(
                self._app.handle, commands, observed.traces
            )
        except WriterFenced:
            log.error("another scheduler has taken over writing: this one stops")
            observed.failed("fenced: another scheduler writes")
            self._stop.set()
            await self._give_back(accepted)
            return
        except Exception as exc:
            observed.failed(repr(exc))
            await self._give_back(accepted)
            return
        observed.stored(recordings)
        # This batch is published and acknowledged while the next one is fetched and
        # applied; batches still go out in order, each acked after its own events.
        self._publishing = asyncio.create_task(
            self._publish_then_ack(self._publishing, recordings, accepted, outcomes, observed)
        )

    async def _parse(
        self, messages: Sequence[Msg], commands: list[AnyCommand], accepted: list[Msg]
    ) -> None:
        for message in messages:
            try:
                command = parse_command(message.data)
            except ValidationError as exc:
                await dead_letter(
                    self._js, self._topology.dead_letter("commands"), message, str(exc)
                )
                continue
            if self._resolve is not None:
                try:
                    command = await self._resolve(command)
                except ExecflowError as exc:  # refused: the sender hears why, if it listens
                    await self._refuse(message, exc)
                    continue
                except Exception:
                    log.exception("cannot resolve a command's workflow now; it comes back")
                    await message.nak(delay=RETRY_DELAY_S)
                    continue
            commands.append(command)
            accepted.append(message)

    async def _publish_then_ack(
        self,
        previous: "asyncio.Future[None]",
        recordings: list[Recording[UUID]],
        accepted: list[Msg],
        outcomes: list[CommandOutcome],
        observed: BatchObserved,
    ) -> None:
        # Batches go out in order; one that failed (its events are in the store: the
        # relay publishes them from there) does not hold back those after it.
        with contextlib.suppress(Exception):
            await previous
        try:
            await self._relay.publish(recordings)
        except Exception as exc:
            observed.failed(repr(exc))
            await self._give_back(accepted)
            return
        try:
            await self._settle(accepted, outcomes)
        except Exception:  # the bus went away: unacked, the commands come back (idempotent)
            log.exception("acknowledging a batch of %d commands failed", len(accepted))
        observed.done(outcomes)

    async def _settle(self, accepted: list[Msg], outcomes: list[CommandOutcome]) -> None:
        for message, outcome in zip(accepted, outcomes, strict=True):
            if outcome.code == ErrorCode.UNAPPLICABLE_COMMAND:
                await dead_letter(
                    self._js, self._topology.dead_letter("commands"), message, outcome.reason
                )
            else:
                await message.ack()
            reply_to = (message.headers or {}).get(REPLY_TO_HEADER)
            if reply_to:
                await self._nc.publish(reply_to, outcome.model_dump_json().encode())

    async def _refuse(self, message: Msg, exc: ExecflowError) -> None:
        await message.ack()
        reply_to = (message.headers or {}).get(REPLY_TO_HEADER)
        if reply_to:
            outcome = CommandOutcome(accepted=False, code=exc.code, reason=str(exc))
            await self._nc.publish(reply_to, outcome.model_dump_json().encode())

    async def _give_back(self, messages: list[Msg]) -> None:
        # Nothing is acknowledged: the batch comes back and applying it is idempotent.
        # A nak that cannot be sent changes nothing: the ack wait brings it back too.
        log.exception("batch of %d commands failed; will be redelivered", len(messages))
        with contextlib.suppress(Exception):
            for message in messages:
                await message.nak(delay=RETRY_DELAY_S)
