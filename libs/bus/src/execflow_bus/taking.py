"""Taking step work, for whoever runs steps (runners, function workers): pulling a batch
while the bus may be away, and accepting a message as work to start."""

import asyncio
import logging
from datetime import UTC, datetime

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pydantic import ValidationError

from execflow_contracts import REDISPATCHED_HEADER, StepWork, Topology

from .bus import dead_letter
from .controls import StepControls
from .pulling import fetch
from .retrying import retrying

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
