"""Throughput, success rate, durations and queue wait per time bucket, from the
metrics rollup the projector keeps (per minute, hour and day, per workflow and queue:
counts, and histograms of queue waits and durations in fixed buckets).

A chart of 30 days reads a few thousand rows, not every execution. Counts, min, max and
averages are exact; percentiles are read from the histograms, interpolated within their
bucket (bounds at most 1.67 times apart) and kept within the exact min and max. A
started execution counts in the bucket of its start; its outcome and duration in the
bucket of its end. Buckets are whole: `from` is taken back to the start of its bucket.
"""

import math
from datetime import datetime
from enum import StrEnum
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from execflow_contracts import DURATION_BOUNDS_MS, HISTOGRAM_BUCKETS


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


def _count(status: str, name: str) -> str:
    return f"coalesce(sum(n) FILTER (WHERE status = '{status}'), 0)::bigint AS {name}"


def _values(name: str, rows: str) -> str:
    """The sums of one kind of value (waits of start rows, durations of end rows)."""
    where = f"FILTER (WHERE {rows})"
    histogram = ", ".join(f"sum(histogram[{i}]) {where}" for i in range(1, HISTOGRAM_BUCKETS + 1))
    return (
        f"sum(value_count) {where} AS {name}_count, sum(value_sum_ms) {where} AS {name}_sum,"
        f" min(value_min_ms) {where} AS {name}_min, max(value_max_ms) {where} AS {name}_max,"
        f" ARRAY[{histogram}] AS {name}_histogram"
    )


QUERY = f"""
SELECT bucket, {{group}} AS grp,
    {_count(STARTED, "started")}, {", ".join(_count(o, o) for o in OUTCOMES)},
    {_values("duration", f"status <> '{STARTED}'")},
    {_values("wait", f"status = '{STARTED}'")}
FROM execution_metrics
WHERE grain = %(bucket)s AND bucket >= date_trunc(%(bucket)s, %(from)s, 'UTC')
    AND bucket < %(to)s
    AND (%(workflow_id)s::text IS NULL OR workflow_id = %(workflow_id)s)
    AND (%(queue)s::text IS NULL OR queue = %(queue)s)
GROUP BY 1, 2
ORDER BY 1, 2 NULLS FIRST
"""


async def metrics(
    conn: AsyncConnection,
    start: datetime,
    end: datetime,
    bucket: Bucket,
    group_by: GroupBy | None,
    workflow_id: str | None = None,
    queue: str | None = None,
) -> list[dict[str, Any]]:
    """Only the executions of `workflow_id` and of `queue`, when given."""
    group = GROUP_COLUMNS[group_by] if group_by else "NULL::text"
    params = {
        "bucket": bucket.value,
        "from": start,
        "to": end,
        "workflow_id": workflow_id,
        "queue": queue,
    }
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(QUERY.format(group=group).encode(), params)
        return [present(row, group_by) for row in await cur.fetchall()]


def present(row: dict[str, Any], group_by: GroupBy | None) -> dict[str, Any]:
    ended = sum(row[o] for o in OUTCOMES)
    body: dict[str, Any] = {"bucket": row["bucket"]}
    if group_by:
        body[group_by.value] = row["grp"]
    duration = Values.of(row, "duration")
    wait = Values.of(row, "wait")
    return body | {
        "started": row["started"],
        **{o: row[o] for o in OUTCOMES},
        "success_rate": round(row["completed"] / ended, 4) if ended else None,
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
    """Summed counts and histogram of one kind of value, in ms."""

    def __init__(
        self, count: int, total: float, low: float | None, high: float | None, hist: list[int]
    ) -> None:
        self.count = count
        self._total = total
        self.min = number(low)
        self.max = number(high)
        self._hist = hist

    @classmethod
    def of(cls, row: dict[str, Any], name: str) -> "Values":
        hist = [int(n or 0) for n in row[f"{name}_histogram"]]
        return cls(
            int(row[f"{name}_count"] or 0),
            float(row[f"{name}_sum"] or 0),
            row[f"{name}_min"],
            row[f"{name}_max"],
            hist,
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
        seen = 0
        for index, n in enumerate(self._hist):
            if seen + n > k:
                low = DURATION_BOUNDS_MS[index - 1] if index > 0 else least
                high = DURATION_BOUNDS_MS[index] if index < len(DURATION_BOUNDS_MS) else most
                value = low + (high - low) * (k - seen + 0.5) / n
                return min(max(value, least), most)
            seen += n
        return most


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
