"""The engine at a glance: executions per status, what runs now, queue depths, workers."""

import hashlib
import json
from typing import Any

from fastapi.encoders import jsonable_encoder
from nats.js import JetStreamContext

from execflow_contracts import ExecutionStatus, Topology, split_queue_key

from .state import Services
from .worker_views import namespace_workers

ACTIVE = (ExecutionStatus.STARTING, ExecutionStatus.RUNNING, ExecutionStatus.CANCELLING)


async def snapshot(svc: Services) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        namespace = svc.caller.namespace
        cur = await conn.execute(
            "SELECT status, count(*) FROM executions WHERE namespace = %s GROUP BY status",
            (namespace,),
        )
        counts = {s.value: 0 for s in ExecutionStatus} | dict(await cur.fetchall())
        cur = await conn.execute(
            "SELECT count(*) FROM steps s JOIN executions e ON e.id = s.execution_id"
            " WHERE s.status = 'running' AND e.namespace = %s",
            (namespace,),
        )
        running_steps = (await cur.fetchone() or (0,))[0]
    workers = await namespace_workers(svc)
    return {
        "counts": counts,
        "running_now": {"executions": sum(counts[s] for s in ACTIVE), "steps": running_steps},
        "queues": await queue_depths(svc.js, svc.topology, namespace),
        "workers": [w.model_dump(mode="json") for w in workers],
    }


async def queue_depths(
    js: JetStreamContext, topology: Topology, namespace: str
) -> list[dict[str, Any]]:
    """Per queue of `namespace`: work waiting for a runner, and work a runner holds
    (leased).

    WORK is a work-queue stream: a message stays until its runner acks it, so the
    subject's count is waiting + leased, and a queue's consumer knows the leased part."""
    info = await js.stream_info(topology.work_stream, subjects_filter=topology.all_work)
    stored = info.state.subjects or {}
    leased: dict[str, int] = {}
    for consumer in await js.consumers_info(topology.work_stream):
        if consumer.config.filter_subject:
            leased[consumer.config.filter_subject] = consumer.num_ack_pending or 0
    depths = []
    for subject in sorted(set(stored) | set(leased)):
        key, function = topology.queue_of_work(subject)
        try:
            owner, queue = split_queue_key(key)
        except ValueError:  # not execflow's: only the scheduler publishes work
            continue
        if owner != namespace:
            continue
        depths.append(
            {
                "queue": queue,
                "waiting": max(0, stored.get(subject, 0) - leased.get(subject, 0)),
                "leased": leased.get(subject, 0),
                "function": function,
            }
        )
    return depths


def fingerprint(state: dict[str, Any]) -> str:
    """The id of an overview event: equal states, equal ids."""
    raw = json.dumps(jsonable_encoder(state), sort_keys=True).encode()
    return hashlib.sha256(raw).hexdigest()[:16]
