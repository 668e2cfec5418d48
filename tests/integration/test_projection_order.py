"""A projection takes its stream in order, from the position stored with its data: a
failing batch is retried before anything after it, and a projector that died in the
middle of a batch starts again at that batch, though later messages went out since."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import psycopg
import pytest
from nats.aio.client import Client
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from execflow_contracts import DLQ_REASON_HEADER, Topology
from execflow_platform import StreamKeeper, connect, schema_conninfo
from execflow_projector.consumer import ProjectionConsumer

from ..conftest import Names

Applier = Callable[[AsyncConnection, Sequence[int]], Awaitable[None]]
NAME = "test-projection"


@pytest.fixture
def conninfo(database_url: str, provisioned: Names) -> str:
    conninfo = schema_conninfo(database_url, provisioned.schema)
    with psycopg.connect(conninfo) as conn:
        conn.execute("CREATE TABLE seen (n serial PRIMARY KEY, item int UNIQUE NOT NULL)")
    return conninfo


async def record(conn: AsyncConnection, items: Sequence[int]) -> None:
    async with conn.cursor() as cur:
        await cur.executemany("INSERT INTO seen (item) VALUES (%s)", [(i,) for i in items])


async def seen(pool: AsyncConnectionPool) -> list[int]:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT item FROM seen ORDER BY n")
        return [row[0] for row in await cursor.fetchall()]


class Projection:
    """A ProjectionConsumer on the logs stream, recording each message's number."""

    def __init__(self, nats_url: str, names: Names, pool: AsyncConnectionPool) -> None:
        self._nats_url = nats_url
        self._topology = Topology(names.prefix)
        self._pool = pool
        self.subject = self._topology.all_logs.replace(">", "test")

    async def publish(self, numbers: range) -> None:
        nc = await connect(self._nats_url, "test-publisher")
        try:
            for number in numbers:
                await nc.jetstream().publish(self.subject, str(number).encode())
        finally:
            await nc.close()

    def consumer(self, nc: Client, apply: Applier) -> ProjectionConsumer:
        return ProjectionConsumer(
            NAME,
            nc.jetstream(),
            self._topology.logs_stream,
            self._topology.all_logs,
            self._pool,
            int,
            (apply,),
            self._topology.dead_letter(NAME),
            batch_size=3,
            ack_wait_s=60,  # no redelivery within the test: only the position can help
            keeper=StreamKeeper(nc.jetstream(), self._topology),
        )

    @contextlib.asynccontextmanager
    async def running(self, apply: Applier) -> AsyncIterator[None]:
        """Runs until the block ends, then dies as a killed process would: mid-batch,
        nothing acknowledged."""
        nc = await connect(self._nats_url, "test-projector")
        consumer = self.consumer(nc, apply)
        await consumer.keeper.check()
        task = asyncio.create_task(consumer.run(asyncio.Event()))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await nc.close()


async def until_seen(pool: AsyncConnectionPool, count: int) -> list[int]:
    for _ in range(400):
        if len(items := await seen(pool)) >= count:
            return items
        await asyncio.sleep(0.05)
    raise AssertionError(f"only {items} were applied")


async def test_a_failing_batch_is_retried_before_anything_after_it(
    nats_url: str, provisioned: Names, conninfo: str
) -> None:
    async with AsyncConnectionPool(conninfo, open=False) as pool:
        await failing_batch_retried(Projection(nats_url, provisioned, pool), pool)


async def failing_batch_retried(projection: "Projection", pool: AsyncConnectionPool) -> None:
    failures: list[list[int]] = []

    async def fail_once_at_five(conn: AsyncConnection, items: Sequence[int]) -> None:
        if 5 in items and not failures:
            failures.append(list(items))
            raise RuntimeError("the database went away")
        await record(conn, items)

    await projection.publish(range(1, 11))
    async with projection.running(fail_once_at_five):
        assert await until_seen(pool, 10) == list(range(1, 11))
    assert failures == [[4, 5, 6]]


async def test_a_batch_left_unfinished_comes_first_after_a_restart(
    nats_url: str, provisioned: Names, conninfo: str
) -> None:
    async with AsyncConnectionPool(conninfo, open=False) as pool:
        await unfinished_batch_first(Projection(nats_url, provisioned, pool), pool)


async def unfinished_batch_first(projection: "Projection", pool: AsyncConnectionPool) -> None:
    stuck = asyncio.Event()

    async def hang_at_five(conn: AsyncConnection, items: Sequence[int]) -> None:
        if 5 in items:
            stuck.set()
            await asyncio.Event().wait()  # killed here, its batch unacknowledged
        await record(conn, items)

    await projection.publish(range(1, 11))
    async with projection.running(hang_at_five):
        await asyncio.wait_for(stuck.wait(), 20)
    assert await seen(pool) == [1, 2, 3]

    await projection.publish(range(11, 16))  # delivered to nobody yet, but after 4..6
    async with projection.running(record):
        assert await until_seen(pool, 15) == list(range(1, 16))


async def test_a_batch_delivered_again_after_it_was_applied_applies_only_what_is_new(
    nats_url: str, provisioned: Names, conninfo: str
) -> None:
    # As when an ack is lost: messages the projection has applied come again, with
    # new ones. The applier refuses what it has seen (a unique item), as a careless one
    # would; the position must keep it from ever seeing it.
    async with AsyncConnectionPool(conninfo, open=False) as pool:
        projection = Projection(nats_url, provisioned, pool)
        await projection.publish(range(1, 6))
        async with projection.running(record):
            assert await until_seen(pool, 5) == [1, 2, 3, 4, 5]
        await projection.publish(range(6, 8))
        nc = await connect(nats_url, "test-redelivery")
        try:
            again = await nc.jetstream().pull_subscribe(
                projection.subject, stream=Topology(provisioned.prefix).logs_stream
            )
            messages = await again.fetch(7, timeout=5)  # 1..5 applied, 6 and 7 new
            consumer = projection.consumer(nc, record)
            for part in (messages[:3], messages[3:]):
                await asyncio.wait_for(consumer.process(part, asyncio.Event()), 20)
        finally:
            await nc.close()
        assert await seen(pool) == [1, 2, 3, 4, 5, 6, 7]


async def test_a_stream_made_anew_is_read_from_its_start(
    nats_url: str, provisioned: Names, conninfo: str
) -> None:
    # NATS lost the stream (its data folder wiped): made again, it numbers from 1, and
    # its first messages must not be taken for ones the projection has applied.
    async with AsyncConnectionPool(conninfo, open=False) as pool:
        projection = Projection(nats_url, provisioned, pool)
        await projection.publish(range(1, 6))
        async with projection.running(record):
            assert await until_seen(pool, 5) == [1, 2, 3, 4, 5]
        nc = await connect(nats_url, "test-wipe")
        try:
            await nc.jetstream().delete_stream(Topology(provisioned.prefix).logs_stream)
        finally:
            await nc.close()
        async with projection.running(record):
            await projection.publish(range(6, 9))  # the keeper makes the stream again
            assert await until_seen(pool, 8) == list(range(1, 9))


async def test_the_one_message_the_database_refuses_goes_to_the_dead_letters_and_the_rest_apply(
    nats_url: str, provisioned: Names, conninfo: str
) -> None:
    # A poison message (here: one the applier cannot store) once stalled every batch
    # after it; now its batch is split until it is alone, and it is set aside.
    async def refuse_seven(conn: AsyncConnection, items: Sequence[int]) -> None:
        if 7 in items:
            raise psycopg.errors.CheckViolation("7 breaks a constraint")
        await record(conn, items)

    async with AsyncConnectionPool(conninfo, open=False) as pool:
        projection = Projection(nats_url, provisioned, pool)
        await projection.publish(range(1, 11))
        async with projection.running(refuse_seven):
            assert await until_seen(pool, 9) == [1, 2, 3, 4, 5, 6, 8, 9, 10]
        nc = await connect(nats_url, "test-dead-letters")
        try:
            js = nc.jetstream()
            dead = await js.get_last_msg(
                Topology(provisioned.prefix).dlq_stream,
                Topology(provisioned.prefix).dead_letter(NAME),
            )
            assert dead.data == b"7"
            assert "breaks a constraint" in (dead.headers or {})[DLQ_REASON_HEADER]
        finally:
            await nc.close()
