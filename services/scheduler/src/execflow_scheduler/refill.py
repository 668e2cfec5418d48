"""What the relay sends again when NATS has lost a stream (its data wiped): the work
of attempts still waiting in their queue, and, a little later, the work of attempts the
store says run but no live runner or agent holds (their work message, or their finish
report, went with the lost stream). Each is marked redispatched: a runner checks the
events before it runs one, and the scheduler ignores reports of an attempt it has
closed."""

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator

from nats.js import JetStreamContext

from execflow_contracts import REDISPATCHED_HEADER, StepDispatched, Topology
from execflow_platform import Outgoing, live_workers, publish_all, retrying

from .application import ExecutionsApplication
from .dispatch import Dispatcher
from .liveness import live_dispatches, running_attempts
from .publishing import to_contract, work_message

log = logging.getLogger(__name__)

PAGE = 500


class Refill:
    def __init__(
        self,
        app: ExecutionsApplication,
        js: JetStreamContext,
        topology: Topology,
        dispatcher: Dispatcher,
        orphan_grace_s: float,
    ) -> None:
        self._app = app
        self._js = js
        self._topology = topology
        self._dispatcher = dispatcher
        # Runners re-register within their TTL once the registry is back: wait that long.
        self._orphan_grace_s = orphan_grace_s

    async def waiting_work(self) -> None:
        """The work of attempts that wait in a queue nothing limits (the dispatcher
        releases the others again)."""
        sent = 0
        async for dispatched in self._dispatches():
            live = await asyncio.to_thread(live_dispatches, self._app, dispatched)
            direct = self._dispatcher.unlimited(dispatched)
            sent += await self._send(
                [e for e in dispatched if e.dedupe_id in live and e.dedupe_id in direct]
            )
        log.warning("the work of %d waiting attempts dispatched again", sent)

    async def orphaned_runs(self) -> None:
        """After the grace: the work of attempts that run, held by no live worker."""
        await asyncio.sleep(self._orphan_grace_s)
        async for attempt in retrying(attempts=10):
            with attempt:
                await self._orphans()

    async def _orphans(self) -> None:
        held = {
            (str(step.execution_id), step.step_id, step.attempt)
            for worker in await live_workers(self._js, self._topology)
            for step in worker.running
        }
        sent = 0
        async for dispatched in self._dispatches():
            running = await asyncio.to_thread(running_attempts, self._app, dispatched)
            sent += await self._send([e for key, e in running.items() if key not in held])
        log.warning("the work of %d attempts no one holds any more dispatched again", sent)

    async def _send(self, dispatched: list[StepDispatched]) -> int:
        messages: list[Outgoing] = []
        for event in dispatched:
            work = work_message(event, self._topology)
            marked = (work.headers or {}) | {REDISPATCHED_HEADER: "1"}
            messages.append(dataclasses.replace(work, headers=marked))
        await publish_all(self._js, messages)
        return len(messages)

    async def _dispatches(self) -> AsyncIterator[list[StepDispatched]]:
        """Every stored dispatch, a page at a time."""
        after = 0
        while page := await asyncio.to_thread(
            self._app.recorder.select_notifications, after + 1, PAGE
        ):
            after = page[-1].id
            events = [to_contract(self._app.mapper.to_domain_event(n)) for n in page]
            dispatched = [e for e in events if isinstance(e, StepDispatched)]
            if dispatched:
                yield dispatched
