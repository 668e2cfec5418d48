"""Work JetStream stopped delivering: it went out as often as the work consumer allows
(`max_deliver`), and each holder died or lost its lease. JetStream says so in an
advisory, which a stream keeps until the scheduler has acted on it: the attempt fails
as `lost`, with the reason (its retry policy may then try again), and the work message
is removed from the WORK stream."""

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from execflow_contracts import ReportStepFinished, StepWork, Topology
from execflow_platform import StreamKeeper, command_message, consume, publish_all

log = logging.getLogger(__name__)

# The worker named on the failure: no runner holds it any more.
LOST = "execflow: no runner"

Subscriber = Callable[[], Awaitable[JetStreamContext.PullSubscription]]


class LostWork:
    def __init__(
        self,
        js: JetStreamContext,
        topology: Topology,
        subscribe: Subscriber,
        keeper: StreamKeeper,
    ) -> None:
        self._js = js
        self._topology = topology
        self._subscribe = subscribe
        self._keeper = keeper

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            subscription = await self._subscribe()
            await consume(subscription, 16, self.handle, stop, until=self._keeper.moved_on())

    async def handle(self, advisories: Sequence[Msg]) -> None:
        for advisory in advisories:
            await self._fail_lost(advisory)
            await advisory.ack()

    async def _fail_lost(self, advisory: Msg) -> None:
        try:
            said = json.loads(advisory.data)
            sequence, deliveries = int(said["stream_seq"]), int(said["deliveries"])
            found = await self._js.get_msg(self._topology.work_stream, sequence)
            work = StepWork.model_validate_json(found.data or b"")
        except NotFoundError:
            return  # acknowledged after all (its report came late): nothing was lost
        except (ValueError, KeyError, ValidationError) as exc:
            log.error("a max-deliveries advisory that cannot be read: %r", exc)
            return
        now = datetime.now(UTC)
        report = ReportStepFinished(
            execution_id=work.execution_id,
            step_id=work.step_id,
            attempt=work.attempt,
            delivery=deliveries,
            worker=LOST,
            actor="scheduler",
            started_at=now,
            finished_at=now,
            exit_code=None,
            error=(
                f"lost: its work was delivered {deliveries} times and no runner finished it"
                " (each one died or lost its lease)"
            ),
            error_kind="lost",
        )
        log.warning(
            "%s/%s attempt %d: %s", work.execution_id, work.step_id, work.attempt, report.error
        )
        await publish_all(self._js, [command_message(self._topology, report)])
        with contextlib.suppress(NotFoundError):
            await self._js.delete_msg(self._topology.work_stream, sequence)
