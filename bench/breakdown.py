"""Where an execution's latency goes, hop by hop, from its events' own timestamps.

Each execution of the latency run is split into: the POST until the scheduler applied
the create; each step's dispatch (dispatched → its process started), run (started →
finished), and report (finished → the scheduler applied it); the scheduler's own
moves between them; the projection of the completion; and its delivery to the client
watching the stream. Every hop is summed over the steps, its p50 taken over the
executions; the p50s add up to about the latency's p50. All clocks are this machine's.
"""

import statistics
import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

import psycopg

HOPS = ("submit", "dispatch", "step_run", "report", "scheduling", "projection", "delivery")


def _at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def hops_of(
    events: list[tuple[str, dict[str, Any]]], posted: float, projected: float, seen: float
) -> dict[str, float]:
    """Seconds per hop of one execution, from its events in version order and the
    moments it was posted, its row took the completion, and the client saw it."""
    hops: dict[str, float] = defaultdict(float)
    last = posted  # when the previous hop ended
    for kind, body in events:
        if kind == "ExecutionCreated":
            hops["submit"] = _at(body["at"]) - posted
            last = _at(body["at"])
        elif kind == "StepDispatched":
            hops["scheduling"] += _at(body["at"]) - last
            last = _at(body["at"])
        elif kind == "StepStarted":
            hops["dispatch"] += _at(body["started_at"]) - last
            last = _at(body["started_at"])
        elif kind == "StepSucceeded":
            hops["step_run"] += _at(body["finished_at"]) - last
            hops["report"] += _at(body["at"]) - _at(body["finished_at"])
            last = _at(body["at"])
        elif kind == "ExecutionCompleted":
            hops["scheduling"] += _at(body["at"]) - last
            hops["projection"] = projected - _at(body["at"])
    hops["delivery"] = seen - projected
    return hops


async def breakdown(conninfo: str, runs: list[tuple[str, float, float]]) -> dict[str, float]:
    """`runs`: (execution id, posted, seen), as epoch seconds. The p50 of each hop, ms."""
    keys = [uuid.UUID(execution_id) for execution_id, _, _ in runs]
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        cur = await conn.execute(
            "SELECT execution_id, type, body FROM event_log WHERE execution_id = ANY(%s)"
            " ORDER BY execution_id, version",
            (keys,),
        )
        events: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        for execution_id, kind, body in await cur.fetchall():
            events[str(execution_id)].append((kind, body))
        cur = await conn.execute(
            "SELECT id, extract(epoch FROM projected_at) FROM executions WHERE id = ANY(%s)",
            (keys,),
        )
        projected = {str(i): float(at) for i, at in await cur.fetchall()}
    samples: dict[str, list[float]] = defaultdict(list)
    for execution_id, posted, seen in runs:
        hops = hops_of(events[execution_id], posted, projected[execution_id], seen)
        for hop in HOPS:
            samples[hop].append(hops[hop] * 1000)
    return {hop: round(statistics.median(samples[hop]), 2) for hop in HOPS}
