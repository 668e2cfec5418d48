"""Pulling a batch from a durable pull consumer: one pull request a call, returned as
soon as the server ends it.

nats-py's own `fetch` can hold a message back for most of its wait. When the answer to
its first request is a status meant for an earlier pull (a 408 that came just after
that pull's caller gave up), it sends a second request, one the server keeps open until
the batch is full or it expires, and then waits for the whole batch: a message that came
meanwhile waited for the expiry. At 100 ms a pull, that was the 60-100 ms latency
outliers of the benchmark, in every consumer.

Here the request asks for what the consumer has (`no_wait`), waiting up to `expires`
for the first message only; the server ends it with a status once it has delivered what
there was, and the call returns then. A status that comes before any message (an earlier
pull's end, or a server that answers at once when it has nothing) does not end the call:
it waits on for its pull, and returns nothing only when its own pull has expired, so
that a caller in a loop never spins. It takes its own pull's closing status when that
comes in time, so a quiet consumer does not leave one status a call in its queue.
Nothing is lost either way: what an earlier pull still brings lands in the
subscription's queue, and the next call takes it first.
"""

import asyncio
import json

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext

from .nats_internals import inbox_of, queue_of, request_pull, taken

# How long a pull waits for its first message when none is waiting.
FETCH_WAIT_S = 0.1
# How long past its pull's expiry a call waits for the server's closing status.
CLOSING_STATUS_GRACE_S = 0.2


async def fetch(
    subscription: JetStreamContext.PullSubscription, batch: int, timeout_s: float = FETCH_WAIT_S
) -> list[Msg]:
    """Up to `batch` messages: those an earlier pull delivered late, or else those one
    new pull brings, waiting up to `timeout_s` for the first. None if none came."""
    # nats-py offers no pull without its own waiting: this uses the subscription's inbox
    # and request subject directly.
    inbox = inbox_of(subscription)
    messages = _delivered(inbox, batch)
    if messages:
        return messages
    request = {"batch": batch, "expires": int(timeout_s * 1e9), "no_wait": True}
    await request_pull(subscription, json.dumps(request).encode())
    loop = asyncio.get_running_loop()
    expired_at = loop.time() + timeout_s
    try:
        async with asyncio.timeout(timeout_s + CLOSING_STATUS_GRACE_S):
            while len(messages) < batch:
                message = taken(inbox, await queue_of(inbox).get())
                if JetStreamContext.is_status_msg(message) is None:
                    messages.append(message)
                elif messages or loop.time() >= expired_at:
                    # The pull has ended: having delivered what there was, or expired
                    # (an earlier pull's status comes early in a call, never this late).
                    break
    except TimeoutError:
        pass
    return messages


def _delivered(inbox: Subscription, batch: int) -> list[Msg]:
    """Messages already in the inbox (statuses of earlier pulls are dropped)."""
    queue = queue_of(inbox)
    messages: list[Msg] = []
    while len(messages) < batch and not queue.empty():
        message = taken(inbox, queue.get_nowait())
        if JetStreamContext.is_status_msg(message) is None:
            messages.append(message)
    return messages
