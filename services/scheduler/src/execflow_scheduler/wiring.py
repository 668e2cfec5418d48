"""The one place where the scheduler is wired."""

import asyncio
import logging

from eventsourcing.utils import get_topic
from nats.js import JetStreamContext
from psycopg_pool import ConnectionPool

from execflow_platform import (
    StreamKeeper,
    command_limit,
    connect,
    durable_pull_consumer,
    ensure_streams,
    eventsourcing_env,
    message_limit,
    pull_subscription,
    schema_conninfo,
)
from execflow_telemetry.metrics import Watched, watch_consumers
from execflow_workflows import isolation

from .application import ExecutionsApplication
from .consumer import CommandConsumer
from .dispatch import Dispatcher
from .eventsourcing_internals import BinaryInsertRecorder
from .expressions import ExpressionProcess
from .firing import ScheduleLoop
from .forgetting import Forgetter
from .lost_work import LostWork
from .refill import Refill
from .relay import Relay
from .resolving import WorkflowResolver
from .settings import SchedulerSettings
from .timers import TimerLoop, TimerStore
from .writer_lock import WriterLock

log = logging.getLogger(__name__)


async def watch_lag(settings: SchedulerSettings, js: JetStreamContext, stop: asyncio.Event) -> None:
    """The command consumer's lag, for /metrics (when it is served)."""
    if settings.metrics_port is not None:
        topology = settings.topology
        watched = [Watched(topology.commands_stream, topology.scheduler_consumer)]
        await watch_consumers(js, watched, stop)


def build_application(
    settings: SchedulerSettings, create_tables: bool = False
) -> ExecutionsApplication:
    """The event store; `create_tables` (for `migrate`) creates its tables and functions."""
    env = eventsourcing_env(settings.database_url, settings.db_schema) | {
        "CREATE_TABLE": "y" if create_tables else "n",
        "AGGREGATE_CACHE_MAXSIZE": str(settings.aggregate_cache_size),
        # This scheduler is the writer: its cache is current unless a save conflicts,
        # and a conflict evicts (see ExecutionsApplication.handle).
        "AGGREGATE_CACHE_FASTFORWARD": "n",
        "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
        # A batch's events are inserted by one prepared call of the library's own
        # function: one round trip instead of a pipeline of lock, notify, insert and
        # commit. It skips the table lock, which only matters to concurrent writers,
        # and the scheduler applies its batches one at a time.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "y",
        "APPLICATION_RECORDER_TOPIC": get_topic(BinaryInsertRecorder),
    }
    return ExecutionsApplication(env=env)


async def serve(settings: SchedulerSettings, stop: asyncio.Event) -> None:
    lock = WriterLock(settings.database_url, settings.db_schema, settings.writer_takeover_s)
    if not await lock.acquire(stop):
        return  # stopped while standing by
    try:
        await serve_holding(settings, stop, lock)
    finally:
        await lock.release()


async def serve_holding(settings: SchedulerSettings, stop: asyncio.Event, lock: WriterLock) -> None:
    topology = settings.topology
    nc = await connect(settings.nats_url, "execflow-scheduler")
    js = nc.jetstream()
    await ensure_streams(js, topology)
    keeper = StreamKeeper(js, topology)
    await keeper.check()
    app = await asyncio.to_thread(build_application, settings)
    app.fence(lock.epoch)
    # Templates and conditions that could run away are evaluated in a child process,
    # within a deadline and a memory limit (started now, beside the rest).
    expressions = ExpressionProcess(settings.expression_timeout_s, settings.expression_memory_mb)
    isolation.isolate(expressions)
    starting = asyncio.create_task(asyncio.to_thread(expressions.start))
    conninfo = schema_conninfo(settings.database_url, settings.db_schema)
    # Checked on every use, so the relay and timers outlive a database restart.
    pool = ConnectionPool(
        conninfo,
        min_size=1,
        max_size=2,
        kwargs={"autocommit": True},
        check=ConnectionPool.check_connection,
        open=False,
    )
    await asyncio.to_thread(pool.open, True)
    timer_store = await asyncio.to_thread(TimerStore, pool)
    recorder = app.recorder
    assert isinstance(recorder, BinaryInsertRecorder)
    forgetter = Forgetter(pool, recorder.events_table_name, js, topology)
    timers = TimerLoop(timer_store, js, topology, forgetter=forgetter)
    dispatcher = Dispatcher(conninfo, js, topology)
    await dispatcher.start()
    schedules = ScheduleLoop(conninfo, js, topology, settings.schedule_grace_s, command_limit(nc))
    refill = Refill(app, js, topology, dispatcher, orphan_grace_s=2 * settings.worker_ttl_s)
    relay = Relay(app, js, topology, pool, timers, dispatcher, message_limit(nc), keeper, refill)
    await relay.start()

    async def subscribe() -> JetStreamContext.PullSubscription:
        return await pull_subscription(
            js,
            topology.commands_stream,
            durable_pull_consumer(
                topology.scheduler_consumer, topology.all_commands, settings.command_ack_wait_s
            ),
        )

    async def subscribe_advisories() -> JetStreamContext.PullSubscription:
        return await pull_subscription(
            js,
            topology.advisories_stream,
            durable_pull_consumer(
                topology.scheduler_advisories_consumer,
                topology.work_max_deliveries,
                settings.command_ack_wait_s,
            ),
        )

    lost_work = LostWork(js, topology, subscribe_advisories, keeper)
    resolver = WorkflowResolver(conninfo)
    consumer = CommandConsumer(
        await subscribe(),
        nc,
        app,
        relay,
        topology,
        settings.batch_size,
        keeper,
        subscribe,
        resolver.resolve,
    )
    log.info("scheduler ready")
    holding = asyncio.create_task(lock.hold(stop))
    holding.add_done_callback(lambda _: stop.set())  # lost: the others finish their batch
    try:
        await asyncio.gather(
            consumer.run(stop),
            timers.run(stop),
            dispatcher.run(stop),
            schedules.run(stop),
            keeper.run(stop),
            relay.follow_streams(stop),
            lost_work.run(stop),
            watch_lag(settings, js, stop),
        )
        await holding  # raises WriterLockLost if that is why it stopped
    finally:
        holding.cancel()
        await relay.close()
        await dispatcher.close()
        await resolver.close()
        await asyncio.to_thread(pool.close)
        await nc.close()
        app.close()
        isolation.isolate(None)
        await asyncio.gather(starting, return_exceptions=True)
        await asyncio.to_thread(expressions.close)
