"""Taking step work, for whoever runs steps (runners, function workers): pulling a batch
while the bus may be away, and accepting a message as work to start."""

import asyncio
import logging
from datetime import UTC, datetime

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pydantic import ValidationError

from execflow_contracts import REDISPATCHED_HEADER, StepWork, Topology

from .bus import dead_letter
from .controls import StepControls
from .pulling import fetch
from .retrying import retrying
from .settled import attempt_over

log = logging.getLogger(__name__)

# Work published longer ago than this, delivered for the first time, may have run before.
STALE_WORK_S = 1.0


async def fetch_work(
    subscription: JetStreamContext.PullSubscription, batch: int, stop: asyncio.Event
) -> list[Msg] | None:
    """Up to `batch` messages (none if none came); None once stopping. The bus may be
    away: a failing fetch is tried again until it works, never dies of it."""
    try:
        async for attempt in retrying(stop=stop):
            with attempt:
                return await fetch(subscription, batch)
    except Exception:  # only once stopping
        log.exception("fetching work failed while stopping")
    return None


def maybe_run_before(message: Msg) -> bool:
    """Work delivered again, or published a while ago (a restarted bus may deliver
    again as if for the first time): the holder before may have run it already (ask
    `attempt_over`)."""
    metadata = message.metadata
    if metadata.num_delivered > 1 or REDISPATCHED_HEADER in (message.headers or {}):
        return True
    published = metadata.timestamp
    age = (datetime.now(UTC) - published).total_seconds() if published else 0.0
    return age > STALE_WORK_S


class CannotTell(Exception):
    """Whether the work ran already cannot be read now: leave it unacknowledged (it
    comes again)."""


async def reason_not_to_run(
    js: JetStreamContext, topology: Topology, message: Msg, work: StepWork, ran_here: bool
) -> str | None:
    """Why this delivery must not run, or None: it ran (or runs) here already (the bus
    restarted and forgot the delivery), or, for work that may have run before, its
    attempt is over by the events. Raises CannotTell."""
    if ran_here:
        return "its holder runs or has run it"
    if not maybe_run_before(message):
        return None
    try:
        return await attempt_over(js, topology, work)
    except (nats.errors.Error, TimeoutError) as exc:
        raise CannotTell(repr(exc)) from None


async def may_start(
    js: JetStreamContext, topology: Topology, message: Msg, work: StepWork, ran_here: bool
) -> bool:
    """Whether this delivery runs. One that must not is acknowledged (it never runs); one
    of which it cannot be told now is left unacknowledged (it comes again)."""
    where = f"{work.execution_id}/{work.step_id}/{work.attempt}"
    try:
        stopped = await reason_not_to_run(js, topology, message, work, ran_here)
    except CannotTell as exc:
        log.warning("%s: cannot tell whether it ran already (%s)", where, exc)
        return False
    if stopped is not None:
        log.info("not starting %s: %s", where, stopped)
        await message.ack()
        return False
    return True


async def work_to_start(
    js: JetStreamContext, topology: Topology, controls: StepControls, message: Msg
) -> StepWork | None:
    """The message's work, or None: unreadable (dead-lettered), or asked to stop before
    it started (acknowledged: it never starts)."""
    try:
        work = StepWork.model_validate_json(message.data)
    except ValidationError as exc:
        await dead_letter(js, topology.dead_letter("work"), message, str(exc))
        return None
    stopped = controls.stop_reason(work.execution_id, work.step_id, work.attempt)
    if stopped is not None:
        log.info("not starting %s/%s: %s", work.execution_id, work.step_id, stopped)
        await message.ack()
        return None
    return work
