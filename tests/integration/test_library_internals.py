"""What execflow takes from inside nats-py and eventsourcing is still there, and still
means what it did: an upgrade that moves any of it fails here, by name, rather than
somewhere deep in a service. The modules that use them: `execflow_bus.
nats_internals` and `execflow_scheduler.eventsourcing_internals`."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from eventsourcing.application import LRUCache
from nats.aio.client import Client
from nats.aio.subscription import Subscription
from nats.js.api import StreamConfig

from execflow_bus.nats_internals import inbox_of, queue_of, request_pull, taken
from execflow_platform import connect, durable_pull_consumer, pull_subscription
from execflow_scheduler.eventsourcing_internals import BinaryInsertRecorder, evict
from execflow_scheduler.settings import SchedulerSettings
from execflow_scheduler.wiring import build_application

from ..conftest import Names


@pytest_asyncio.fixture(loop_scope="function")
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await connect(nats_url, "test-internals")
    yield client
    await client.close()


@pytest.mark.asyncio(loop_scope="function")
async def test_a_pull_subscriptions_inbox_queue_and_request_subject_work_as_relied_on(
    nc: Client,
) -> None:
    js = nc.jetstream()
    name = f"int{uuid.uuid4().hex[:8]}"
    await js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"]))
    subscription = await pull_subscription(
        js, name, durable_pull_consumer(f"{name}-c", f"{name}.>", ack_wait_s=30)
    )
    await js.publish(f"{name}.x", b"hello")

    inbox = inbox_of(subscription)
    assert isinstance(inbox, Subscription)
    queue = queue_of(inbox)
    assert isinstance(queue, asyncio.Queue)
    assert isinstance(inbox._pending_size, int)
    await request_pull(subscription, b'{"batch": 1, "expires": 1000000000}')
    message = taken(inbox, await asyncio.wait_for(queue.get(), 5))
    assert message.data == b"hello"
    assert inbox._pending_size == 0  # its accounting kept as nats-py keeps it
    await message.ack()


def test_the_event_stores_recorder_and_cache_are_what_the_scheduler_adjusts(
    database_url: str, provisioned: Names
) -> None:
    app = build_application(
        SchedulerSettings(database_url=database_url, db_schema=provisioned.schema)
    )
    try:
        recorder = app.recorder
        assert isinstance(recorder, BinaryInsertRecorder)
        # The statements the library runs, which the recorder replaces by name.
        statements = recorder.sql_create_statements
        index = recorder.create_insert_function_statement_index
        assert 0 <= index < len(statements)
        assert "%b" in recorder.sql_invoke_pg_function_insert_events.as_string()
        assert recorder.pg_function_name_insert_events in statements[index].as_string()
        assert recorder.stored_event_type_name and recorder.events_table_name

        cache = app.repository.cache
        assert isinstance(cache, LRUCache)
        key = uuid.uuid4()
        cache.put(key, object())
        evict(app.repository, key)
        with pytest.raises(KeyError):
            cache.get(key)
        evict(app.repository, key)  # gone already: nothing to do, no error
    finally:
        app.close()
