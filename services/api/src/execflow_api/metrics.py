"""Throughput, success rate, durations and queue wait per time bucket, from the
executions read model.

Computed at query time rather than kept in a roll-up table: percentiles cannot be
summed from pre-aggregated buckets, and the created/started/completed timestamps are
indexed, so a day of executions is one index range scan. A started execution counts in
the bucket of its start; its outcome and duration in the bucket of its end.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row


class Bucket(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"


class GroupBy(StrEnum):
    WORKFLOW = "workflow"
    QUEUE = "queue"
    STATUS = "status"


GROUP_COLUMNS = {GroupBy.WORKFLOW: "workflow_id", GroupBy.QUEUE: "queue", GroupBy.STATUS: "status"}
QUEUE_WAIT_MS = "extract(epoch FROM started_at - queued_at) * 1000"

QUERY = """
WITH started AS (
    SELECT date_trunc(%(bucket)s, started_at, 'UTC') AS bucket, {group} AS grp,
           count(*) AS started,
           avg({wait}) AS wait_avg,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY {wait}) AS wait_p95
    FROM executions
    WHERE COALESCE(started_at, 'infinity'::timestamptz) >= %(from)s
      AND COALESCE(started_at, 'infinity'::timestamptz) < %(to)s
    GROUP BY 1, 2
), ended AS (
    SELECT date_trunc(%(bucket)s, completed_at, 'UTC') AS bucket, {group} AS grp,
           count(*) FILTER (WHERE status = 'completed') AS completed,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
           count(*) FILTER (WHERE status = 'timed_out') AS timed_out,
           min(duration_ms) AS min, avg(duration_ms) AS avg,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95,
           max(duration_ms) AS max
    FROM executions
    WHERE COALESCE(completed_at, 'infinity'::timestamptz) >= %(from)s
      AND COALESCE(completed_at, 'infinity'::timestamptz) < %(to)s
    GROUP BY 1, 2
)
SELECT COALESCE(s.bucket, e.bucket) AS bucket, COALESCE(s.grp, e.grp) AS grp,
       COALESCE(s.started, 0) AS started, COALESCE(e.completed, 0) AS completed,
       COALESCE(e.failed, 0) AS failed, COALESCE(e.cancelled, 0) AS cancelled,
       COALESCE(e.timed_out, 0) AS timed_out, e.min, e.avg, e.p50, e.p95, e.max,
       s.wait_avg, s.wait_p95
FROM started s FULL JOIN ended e ON s.bucket = e.bucket AND s.grp IS NOT DISTINCT FROM e.grp
ORDER BY 1, 2 NULLS FIRST
"""


async def metrics(
    conn: AsyncConnection,
    start: datetime,
    end: datetime,
    bucket: Bucket,
    group_by: GroupBy | None,
) -> list[dict[str, Any]]:
    group = GROUP_COLUMNS[group_by] if group_by else "NULL::text"
    sql = QUERY.format(group=group, wait=QUEUE_WAIT_MS)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, {"bucket": bucket.value, "from": start, "to": end})
        return [present(row, group_by) for row in await cur.fetchall()]


def present(row: dict[str, Any], group_by: GroupBy | None) -> dict[str, Any]:
    ended = row["completed"] + row["failed"] + row["cancelled"] + row["timed_out"]
    body: dict[str, Any] = {"bucket": row["bucket"]}
    if group_by:
        body[group_by.value] = row["grp"]
    return body | {
        "started": row["started"],
        "completed": row["completed"],
        "failed": row["failed"],
        "cancelled": row["cancelled"],
        "timed_out": row["timed_out"],
        "success_rate": round(row["completed"] / ended, 4) if ended else None,
        "duration_ms": {k: number(row[k]) for k in ("min", "avg", "p50", "p95", "max")},
        "queue_wait_ms": {"avg": number(row["wait_avg"]), "p95": number(row["wait_p95"])},
    }


def number(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


# Seconds each worker spent running steps within [from, to): the overlap of every
# attempt's run with the window (an attempt still running counts up to now).
BUSY = """
SELECT worker, sum(extract(epoch FROM
           least(coalesce(finished_at, now()), %(to)s) - greatest(started_at, %(from)s)))
       AS busy_s
FROM attempts
WHERE worker IS NOT NULL AND started_at < %(to)s AND coalesce(finished_at, now()) > %(from)s
GROUP BY worker ORDER BY worker
"""


async def worker_utilisation(
    conn: AsyncConnection, start: datetime, end: datetime, capacity: dict[str, int]
) -> list[dict[str, Any]]:
    """Per worker: busy seconds, steps running on average, and that over its capacity
    (for live workers, whose capacity the registry knows)."""
    window = (end - start).total_seconds()
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(BUSY, {"from": start, "to": end})
        rows = await cur.fetchall()
    result = []
    for row in rows:
        running = float(row["busy_s"]) / window
        slots = capacity.get(row["worker"])
        result.append(
            {
                "worker": row["worker"],
                "busy_s": round(float(row["busy_s"]), 3),
                "avg_running_steps": round(running, 4),
                "capacity": slots,
                "utilisation": round(running / slots, 4) if slots else None,
            }
        )
    return result
