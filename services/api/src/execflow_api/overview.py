"""The engine at a glance: executions per status, what runs now, queue depths, workers."""

import hashlib
import json
from typing import Any

from fastapi.encoders import jsonable_encoder
from nats.js import JetStreamContext

from execflow_contracts import ExecutionStatus, Topology
from execflow_platform import live_workers

from .state import Services

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
    workers = await live_workers(svc.js, svc.topology)
    return {
        "counts": counts,
        "running_now": {"executions": sum(counts[s] for s in ACTIVE), "steps": running_steps},
        "queues": await queue_depths(svc.js, svc.topology),
        "workers": [w.model_dump(mode="json") for w in workers],
    }


async def queue_depths(js: JetStreamContext, topology: Topology) -> list[dict[str, Any]]:
    """Per queue: work waiting for a runner, and work a runner holds (leased).

    WORK is a work-queue stream: a message stays until its runner acks it, so the
    subject's count is waiting + leased, and a queue's consumer knows the leased part."""
    info = await js.stream_info(topology.work_stream, subjects_filter=topology.all_work)
    stored = info.state.subjects or {}
    leased: dict[str, int] = {}
    for consumer in await js.consumers_info(topology.work_stream):
        if consumer.config.filter_subject:
            leased[consumer.config.filter_subject] = consumer.num_ack_pending or 0
    subject_prefix = topology.work("")
    depths = []
    for subject in sorted(set(stored) | set(leased)):
        # A function's work waits on `<queue>.fn.<function>` within its queue.
        queue, _, function = subject.removeprefix(subject_prefix).partition(".fn.")
        depths.append(
            {
                "queue": queue,
                "waiting": max(0, stored.get(subject, 0) - leased.get(subject, 0)),
                "leased": leased.get(subject, 0),
                "function": function or None,
            }
        )
    return depths


def fingerprint(state: dict[str, Any]) -> str:
    """The id of an overview event: equal states, equal ids."""
    raw = json.dumps(jsonable_encoder(state), sort_keys=True).encode()
    return hashlib.sha256(raw).hexdigest()[:16]
