"""Throughput, success rate, durations and queue wait per time bucket, from the
metrics rollup the projector keeps (per minute, hour and day, per workflow and queue:
counts, and histograms of queue waits and durations in fixed buckets).

A chart of 30 days reads a few thousand rows, not every execution. Counts, min, max and
averages are exact; percentiles are read from the histograms, interpolated within their
bucket (bounds at most 1.67 times apart) and kept within the exact min and max. A
started execution counts in the bucket of its start; its outcome and duration in the
bucket of its end. Buckets are whole: `from` is taken back to the start of its bucket.
"""

import bisect
import itertools
import math
from datetime import datetime
from enum import StrEnum
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from execflow_contracts import ALL_WORKFLOWS_AND_QUEUES as ALL
from execflow_contracts import DEFAULT_NAMESPACE, DURATION_BOUNDS_MS, HISTOGRAM_BUCKETS


class Bucket(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"


class GroupBy(StrEnum):
    WORKFLOW = "workflow"
    QUEUE = "queue"
    STATUS = "status"


OUTCOMES = ("completed", "failed", "cancelled", "timed_out")
STARTED = "running"  # the rollup's status of its start rows
GROUP_COLUMNS = {
    GroupBy.WORKFLOW: "nullif(workflow_id, '')",
    GroupBy.QUEUE: "nullif(queue, '')",
    GroupBy.STATUS: "status",
}
_HISTOGRAM = ", ".join(f"sum(histogram[{i}])::bigint" for i in range(1, HISTOGRAM_BUCKETS + 1))

_COUNTS = ", ".join(
    f"coalesce(sum(n) FILTER (WHERE status = '{s}'), 0)::bigint AS {s}"
    for s in (STARTED, *OUTCOMES)
)

# Per bucket and group, a row of starts (values: queue waits) and a row of ends (values:
# durations), each with the counts of its statuses.
QUERY = f"""
SELECT bucket, {{group}} AS grp, status = '{STARTED}' AS starts, {_COUNTS},
    sum(value_count)::bigint AS value_count, sum(value_sum_ms)::float8 AS value_sum,
    min(value_min_ms) AS value_min, max(value_max_ms) AS value_max,
    ARRAY[{_HISTOGRAM}] AS histogram
FROM execution_metrics
WHERE grain = %(bucket)s AND bucket >= date_trunc(%(bucket)s, %(from)s, 'UTC')
    AND bucket < %(to)s AND namespace = %(namespace)s AND {{scope}}
GROUP BY 1, 2, 3
ORDER BY 1, 2 NULLS FIRST
"""
WORK_MEM = b"SET LOCAL work_mem = '64MB'"
EVERYTHING = f"workflow_id = '{ALL}' AND queue = '{ALL}'"
EACH = (
    f"workflow_id <> '{ALL}'"
    " AND (%(workflow_id)s::text IS NULL OR workflow_id = %(workflow_id)s)"
    " AND (%(queue)s::text IS NULL OR queue = %(queue)s)"
)


async def metrics(
    conn: AsyncConnection,
    start: datetime,
    end: datetime,
    bucket: Bucket,
    group_by: GroupBy | None,
    workflow_id: str | None = None,
    queue: str | None = None,
    namespace: str = DEFAULT_NAMESPACE,
) -> list[dict[str, Any]]:
    """Only the executions of `namespace`, of `workflow_id` and of `queue` (when given)."""
    group = GROUP_COLUMNS[group_by] if group_by else "NULL::text"
    # Without a workflow or a queue to tell apart, the rows of all of them at once.
    alone = group_by in (None, GroupBy.STATUS) and workflow_id is None and queue is None
    params = {
        "bucket": bucket.value,
        "from": start,
        "to": end,
        "workflow_id": workflow_id,
        "queue": queue,
        "namespace": namespace,
    }
    sql = QUERY.format(group=group, scope=EVERYTHING if alone else EACH)
    async with conn.transaction(), conn.cursor(row_factory=dict_row, binary=True) as cur:
        # Many groups of wide rows (their histograms) sort in memory, not on disk.
        await cur.execute(WORK_MEM)
        await cur.execute(sql.encode(), params)
        rows = await cur.fetchall()
    return [present(b, g, of, group_by) for (b, g), of in by_bucket_and_group(rows).items()]


def by_bucket_and_group(rows: list[dict[str, Any]]) -> dict[tuple[Any, Any], list[dict[str, Any]]]:
    grouped: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault((row["bucket"], row["grp"]), []).append(row)
    return grouped


def present(
    bucket: datetime, group: Any, rows: list[dict[str, Any]], group_by: GroupBy | None
) -> dict[str, Any]:
    counts = {s: sum(row[s] for row in rows) for s in (STARTED, *OUTCOMES)}
    ended = sum(counts[o] for o in OUTCOMES)
    body: dict[str, Any] = {"bucket": bucket}
    if group_by:
        body[group_by.value] = group
    duration = Values.of(next((r for r in rows if not r["starts"]), None))
    wait = Values.of(next((r for r in rows if r["starts"]), None))
    return body | {
        "started": counts[STARTED],
        **{o: counts[o] for o in OUTCOMES},
        "success_rate": round(counts["completed"] / ended, 4) if ended else None,
        "duration_ms": {
            "min": duration.min,
            "avg": duration.avg,
            "p50": duration.percentile(0.5),
            "p95": duration.percentile(0.95),
            "max": duration.max,
        },
        "queue_wait_ms": {"avg": wait.avg, "p95": wait.percentile(0.95)},
    }


class Values:
    """Counts and a histogram of one kind of value, in ms, added up over rows."""

    def __init__(
        self, count: int, total: float, low: float | None, high: float | None, hist: list[int]
    ) -> None:
        self.count = count
        self._total = total
        self.min = number(low)
        self.max = number(high)
        self._hist = hist

    @classmethod
    def of(cls, row: dict[str, Any] | None) -> "Values":
        if row is None:
            return cls(0, 0.0, None, None, [0] * HISTOGRAM_BUCKETS)
        return cls(
            row["value_count"],
            row["value_sum"],
            row["value_min"],
            row["value_max"],
            row["histogram"],
        )

    @property
    def avg(self) -> float | None:
        return number(self._total / self.count) if self.count else None

    def percentile(self, q: float) -> float | None:
        """Interpolated between the two values around rank q (as percentile_cont does),
        each read from the histogram; the lowest and highest are the exact min and max."""
        if not self.count:
            return None
        rank = q * (self.count - 1)
        below, above = math.floor(rank), math.ceil(rank)
        low, high = self._value(below), self._value(above)
        return number(low + (high - low) * (rank - below))

    def _value(self, k: int) -> float:
        """The k-th smallest value (0-based): the values of a bucket taken as spread
        evenly over it, within the exact min and max."""
        least, most = float(self.min or 0), float(self.max or 0)
        if k <= 0:
            return least
        if k >= self.count - 1:
            return most
        ends = list(itertools.accumulate(self._hist))  # values up to each bucket's end
        index = bisect.bisect_right(ends, k)
        if index >= len(ends):
            return most
        n = self._hist[index]
        seen = ends[index] - n
        low = DURATION_BOUNDS_MS[index - 1] if index > 0 else least
        high = DURATION_BOUNDS_MS[index] if index < len(DURATION_BOUNDS_MS) else most
        return min(max(low + (high - low) * (k - seen + 0.5) / n, least), most)


def number(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


# Seconds each worker spent running steps within [from, to): the overlap of every
# attempt's run with the window (an attempt still running counts up to now), for the
# steps of one namespace's executions.
BUSY = """
SELECT worker, sum(extract(epoch FROM
           least(coalesce(finished_at, now()), %(to)s) - greatest(started_at, %(from)s)))
       AS busy_s
FROM attempts a
WHERE worker IS NOT NULL AND started_at < %(to)s AND coalesce(finished_at, now()) > %(from)s
    AND EXISTS (SELECT 1 FROM executions e WHERE e.id = a.execution_id
                AND e.namespace = %(namespace)s)
GROUP BY worker ORDER BY worker
"""


async def worker_utilisation(
    conn: AsyncConnection,
    start: datetime,
    end: datetime,
    capacity: dict[str, int],
    namespace: str = DEFAULT_NAMESPACE,
) -> list[dict[str, Any]]:
    """Per worker: busy seconds, steps running on average, and that over its capacity
    (for live workers, whose capacity the registry knows)."""
    window = (end - start).total_seconds()
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(BUSY, {"from": start, "to": end, "namespace": namespace})
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
