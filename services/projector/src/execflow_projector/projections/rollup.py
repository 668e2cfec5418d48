"""The metrics rollup: per minute, hour and day, per workflow and queue, how many
executions started and how many ended in each outcome, with a fixed-bucket histogram of
their queue waits (starts) and durations (ends).

Rows whose workflow and queue are `ALL` (`*`) count every workflow and queue at once: a
chart of everything reads one row per bucket and status, not one per workflow too.
Each row counts one kind of fact, named by `status`: `running` rows count starts (their
values are queue waits, queued to started), `completed`, `failed`, `cancelled` and
`timed_out` rows count ends (their values are durations, started to ended). An execution
counts as started in the bucket of its first start and as ended in the bucket of its
end, under its workflow and the queue of its first step (`''` for none).

Counted from the transitions a batch finds new (by version, batch.py), joined with the
execution rows the batch has just written, in the batch's transaction: a redelivered
or re-published event finds its version applied and counts nothing again. Minute, hour
and day rows are all kept, so a 30-day chart reads a few thousand day or hour rows
rather than every minute. Read by the API's `metrics` module.
"""

from collections.abc import Sequence

from psycopg import AsyncConnection

from execflow_contracts import (
    ALL_WORKFLOWS_AND_QUEUES as ALL,
)
from execflow_contracts import (
    DURATION_BOUNDS_MS,
    HISTOGRAM_BUCKETS,
    ExecutionStatus,
    TransitionType,
)

from .batch import Transition

TABLE = "execution_metrics"
GRAINS = ("minute", "hour", "day")
STARTED = ExecutionStatus.RUNNING

DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    grain text NOT NULL,
    bucket timestamptz NOT NULL,
    namespace text NOT NULL DEFAULT 'default',
    workflow_id text NOT NULL,
    queue text NOT NULL,
    status text NOT NULL,
    n bigint NOT NULL,
    value_count bigint NOT NULL,
    value_sum_ms numeric NOT NULL,  -- exact: a sum in another order is the same
    value_min_ms double precision,
    value_max_ms double precision,
    histogram bigint[] NOT NULL,
    PRIMARY KEY (grain, bucket, namespace, workflow_id, queue, status)
);
"""
# The executions' namespace, which the rollup counts by: made here too for a schema made
# afresh (projector_0004 makes it where this migration ran before namespaces).
NAMESPACE_COLUMN = (
    "ALTER TABLE executions ADD COLUMN IF NOT EXISTS namespace text NOT NULL DEFAULT 'default'"
)

_GRAINS = "ARRAY[" + ", ".join(f"'{g}'" for g in GRAINS) + "]"
_BOUNDS = "'{" + ",".join(repr(b) for b in DURATION_BOUNDS_MS) + "}'::numeric[]"
_HISTOGRAM = ", ".join(f"count(*) FILTER (WHERE bin = {i})" for i in range(HISTOGRAM_BUCKETS))
_ADD_HISTOGRAMS = ", ".join(
    f"m.histogram[{i}] + EXCLUDED.histogram[{i}]" for i in range(1, HISTOGRAM_BUCKETS + 1)
)

# `facts` (at, workflow_id, queue, status, value_ms) in, rows added to the rollup.
UPSERT = f"""
, binned AS (
    SELECT *, width_bucket(value_ms, {_BOUNDS}) AS bin FROM facts
)
INSERT INTO {TABLE} AS m (grain, bucket, namespace, workflow_id, queue, status, n,
    value_count, value_sum_ms, value_min_ms, value_max_ms, histogram)
SELECT grain, bucket, namespace, coalesce(workflow_id, '{ALL}'), coalesce(queue, '{ALL}'),
    status,
    count(*), count(value_ms), coalesce(sum(value_ms), 0), min(value_ms), max(value_ms),
    ARRAY[{_HISTOGRAM}]::bigint[]
FROM (SELECT *, date_trunc(grain, at, 'UTC') AS bucket
      FROM binned CROSS JOIN unnest({_GRAINS}) AS grain) AS placed
-- Each workflow and queue, and all of them at once (their columns NULL, stored as ALL),
-- each namespace apart.
GROUP BY grain, bucket, namespace, status, GROUPING SETS ((workflow_id, queue), ())
ON CONFLICT (grain, bucket, namespace, workflow_id, queue, status) DO UPDATE SET
    n = m.n + EXCLUDED.n,
    value_count = m.value_count + EXCLUDED.value_count,
    value_sum_ms = m.value_sum_ms + EXCLUDED.value_sum_ms,
    value_min_ms = least(m.value_min_ms, EXCLUDED.value_min_ms),
    value_max_ms = greatest(m.value_max_ms, EXCLUDED.value_max_ms),
    histogram = ARRAY[{_ADD_HISTOGRAMS}]::bigint[]
"""

# A start's value is its queue wait; an end's, its duration (none if it never started).
# The queue is its first step's, fixed at creation: the latest one dispatched would
# depend on how events were batched, and a rebuild would count otherwise than live.
_QUEUE = (
    "coalesce((SELECT s.queue FROM steps s WHERE s.execution_id = e.id AND s.position = 0), '')"
)
_WAIT = "greatest(extract(epoch FROM e.started_at - e.queued_at) * 1000, 0)"

FROM_TRANSITIONS = (
    f"""
WITH given AS (
    SELECT * FROM unnest(%(ids)s::uuid[], %(statuses)s::text[], %(ats)s::timestamptz[])
        AS g(execution_id, status, at)
), facts AS (
    SELECT g.at, e.namespace, coalesce(e.workflow_id, '') AS workflow_id, {_QUEUE} AS queue,
        g.status,
        CASE WHEN g.status = '{STARTED}' THEN {_WAIT} ELSE e.duration_ms END AS value_ms
    FROM given g JOIN executions e ON e.id = g.execution_id
    -- Only its first start counts (a resume or an automatic retry runs it again).
    WHERE g.status <> '{STARTED}' OR g.at = e.started_at
)"""
    + UPSERT
).encode()

# The same facts from the executions read model as it stands: what the migration that
# makes the table counts, for the executions projected before it.
_TERMINAL = ", ".join(f"'{s.value}'" for s in ExecutionStatus if s.is_terminal)
FROM_EXECUTIONS = (
    f"""
WITH facts AS (
    SELECT e.started_at AS at, e.namespace, coalesce(e.workflow_id, '') AS workflow_id,
        {_QUEUE} AS queue, '{STARTED}' AS status, {_WAIT} AS value_ms
    FROM executions e WHERE e.started_at IS NOT NULL
    UNION ALL
    SELECT e.completed_at, e.namespace, coalesce(e.workflow_id, ''), {_QUEUE}, e.status,
        e.duration_ms
    FROM executions e WHERE e.completed_at IS NOT NULL AND e.status IN ({_TERMINAL})
)"""
    + UPSERT
).encode()


def counted(transition: Transition) -> bool:
    """A change into running (a start, if it is the first) or into an end."""
    if transition.type is TransitionType.STEP:
        return False
    return transition.to_status is STARTED or transition.to_status.is_terminal


async def apply_transitions(conn: AsyncConnection, transitions: Sequence[Transition]) -> None:
    """In a batch's transaction, after its execution rows are written: count what its
    new transitions started or ended."""
    facts = [t for t in transitions if counted(t)]
    if not facts:
        return
    params = {
        "ids": [t.execution_id for t in facts],
        "statuses": [t.to_status.value for t in facts],
        "ats": [t.at for t in facts],
    }
    await conn.execute(FROM_TRANSITIONS, params)
