"""Pulling batches from a durable consumer on a real nats-server: up to the batch asked
for, nothing when nothing comes, and what a pull brings after its caller gave up on it
is handed to the next call, not lost."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StreamConfig

from execflow_platform import connect, durable_pull_consumer, fetch, pull_subscription

pytestmark = pytest.mark.asyncio(loop_scope="function")


@pytest_asyncio.fixture(loop_scope="function")
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await connect(nats_url, "test-pulling")
    yield client
    await client.close()


async def stream_and_subscription(
    js: JetStreamContext,
) -> tuple[str, JetStreamContext.PullSubscription]:
    name = f"pull{uuid.uuid4().hex[:8]}"
    await js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"]))
    config = durable_pull_consumer(f"{name}-c", f"{name}.>", ack_wait_s=30)
    return name, await pull_subscription(js, name, config)


async def test_a_fetch_takes_at_most_its_batch_and_the_rest_stays(nc: Client) -> None:
    js = nc.jetstream()
    name, subscription = await stream_and_subscription(js)
    for i in range(5):
        await js.publish(f"{name}.x", str(i).encode())

    first = await fetch(subscription, 3, timeout_s=2)
    rest = await fetch(subscription, 10, timeout_s=2)

    assert [m.data for m in first] == [b"0", b"1", b"2"]
    assert [m.data for m in rest] == [b"3", b"4"]
    for message in first + rest:
        await message.ack()
    assert await fetch(subscription, 10, timeout_s=0.2) == []
    # The subscription's own accounting is kept: nothing counts as held any more.
    assert subscription.pending_msgs == 0
    assert subscription.pending_bytes == 0


async def test_what_an_abandoned_pull_brings_goes_to_the_next_fetch(nc: Client) -> None:
    js = nc.jetstream()
    name, subscription = await stream_and_subscription(js)
    waiting = asyncio.create_task(fetch(subscription, 10, timeout_s=5))
    await asyncio.sleep(0.2)  # its pull is at the server, waiting
    waiting.cancel()  # the caller gives up (say, a stop); the pull stays open
    with pytest.raises(asyncio.CancelledError):
        await waiting

    await js.publish(f"{name}.x", b"late")

    messages = await fetch(subscription, 10, timeout_s=5)
    assert [m.data for m in messages] == [b"late"]
    assert messages[0].metadata.num_delivered == 1


async def test_a_quiet_consumer_waits_out_each_pull_and_keeps_no_statuses(nc: Client) -> None:
    js = nc.jetstream()
    _, subscription = await stream_and_subscription(js)
    loop = asyncio.get_running_loop()
    for _ in range(3):
        started = loop.time()
        assert await fetch(subscription, 10, timeout_s=0.1) == []
        # No spinning: an empty call lasts its pull's whole wait ...
        assert loop.time() - started >= 0.1
        # ... and takes that pull's closing status with it.
        assert subscription.pending_msgs == 0
