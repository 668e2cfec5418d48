"""The one place where the runner is wired."""

import asyncio
import logging

from execflow_platform import connect, durable_pull_consumer, ensure_streams, pull_subscription

from .backends import ProcessBackend
from .settings import RunnerSettings
from .worker import Worker

log = logging.getLogger(__name__)


async def serve(settings: RunnerSettings, stop: asyncio.Event) -> None:
    topology = settings.topology
    nc = await connect(settings.nats_url, f"execflow-runner-{settings.worker_id}")
    js = nc.jetstream()
    await ensure_streams(js, topology)
    subscriptions = [
        await pull_subscription(
            js,
            topology.work_stream,
            durable_pull_consumer(
                topology.runner_consumer(queue), topology.work(queue), settings.lease_s
            ),
        )
        for queue in settings.queue_names
    ]
    worker = Worker(
        nc,
        topology,
        ProcessBackend(),
        settings.worker_id,
        settings.capacity,
        settings.lease_s,
        settings.stop_grace_s,
        settings.work_dir.resolve(),
    )
    log.info("runner %s ready on queues %s", settings.worker_id, settings.queue_names)
    try:
        await worker.run(subscriptions, stop)
    finally:
        await nc.close()
