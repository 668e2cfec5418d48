"""The parts of nats-py's internals execflow relies on, and the only module that
touches them. nats-py is pinned; `tests/integration/test_library_internals.py` fails
loudly if an upgrade moves any of them.

A pull subscription is an inbox (a core subscription whose messages wait in a queue)
and the subject its pull requests go to. `pulling.fetch` sends its own requests and
reads that queue, because nats-py offers no pull that returns as soon as the server
has delivered what it had (see pulling.py)."""

import asyncio

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext


def inbox_of(subscription: JetStreamContext.PullSubscription) -> Subscription:
    inbox: Subscription = subscription._sub
    return inbox


def queue_of(inbox: Subscription) -> "asyncio.Queue[Msg]":
    queue: asyncio.Queue[Msg] = inbox._pending_queue
    return queue


async def request_pull(subscription: JetStreamContext.PullSubscription, request: bytes) -> None:
    """Send a pull request whose messages come to the subscription's inbox."""
    await subscription._nc.publish(subscription._nms, request, subscription._deliver)


def taken(inbox: Subscription, message: Msg) -> Msg:
    """Keep the subscription's own accounting as its `next_msg` does: the bytes it holds
    count against its slow-consumer limit."""
    inbox._pending_size -= len(message.data)
    queue_of(inbox).task_done()
    return message
