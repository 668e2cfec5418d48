"""How fast is a filtered page of 50 on 100,000 executions? And a metrics chart from the
rollup, as if 10,000,000 executions had run over 30 days?

    .tools/bin/uv run --frozen --all-packages python bench/queries.py [ROWS]

Fills a fresh schema of an embedded PostgreSQL (or of EXECFLOW_DATABASE_URL) with
synthetic executions, then times `list_executions` — the API's own query — for each
filter and sort, on the first page and on a page 20 pages deep. Prints milliseconds
(median of 20 runs). Not part of the test suite: speed is measured, not asserted.
"""

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import psycopg

from execflow_api.listing import Filters, Order, Page, SortKey, list_executions
from execflow_api.metrics import Bucket, GroupBy, metrics
from execflow_contracts import HISTOGRAM_BUCKETS
from execflow_devstack import EmbeddedPostgres, ensure_database
from execflow_platform import ensure_schema, schema_conninfo
from execflow_projector.projections import rollup
from execflow_projector.schema import migrate

RUNS = 20
DEPTH = 20

# Statuses, queues and metadata spread like a busy deployment's: mostly finished.
FILL = """
INSERT INTO executions (id, version, status, workflow, input, metadata, n_steps,
    created_at, queued_at, started_at, completed_at, updated_at, workflow_id, name, queue,
    worker)
SELECT gen_random_uuid(), 6,
    (ARRAY['completed','completed','completed','completed','completed','completed',
           'failed','running','queued','pending'])[1 + i % 10],
    '{"steps": [{"id": "a", "run": {"command": ["true"]}}]}', NULL,
    jsonb_build_object('team', (ARRAY['infra','web','data','ml'])[1 + i % 4],
                       'env', (ARRAY['prod','staging'])[1 + i % 2],
                       'agent_id', 'agent-' || (i % 500)),
    1, t, t, t + interval '1 second',
    CASE WHEN i % 10 < 7 THEN t + interval '1 second' + (i % 97) * interval '1 second' END,
    t, 'wf-' || (i % 50), 'run ' || i, (ARRAY['default','gpu','batch'])[1 + i % 3],
    'runner-' || (i % 20)
FROM (SELECT i, timestamptz '2026-01-01' + i * interval '5 seconds' AS t
      FROM generate_series(1, %s) AS i) AS g
"""


def _d(value: str) -> datetime:
    return datetime.fromisoformat(value + "T00:00:00+00:00")


CASES: dict[str, tuple[Filters, Page]] = {
    "no filter, newest first": (Filters(), Page()),
    "status=failed": (Filters(statuses=["failed"]), Page()),
    "status=running,queued": (Filters(statuses=["running", "queued"]), Page()),
    "workflow_id=wf-7": (Filters(workflow_id="wf-7"), Page()),
    "queue=gpu": (Filters(queue="gpu"), Page()),
    "worker=runner-3": (Filters(worker="runner-3"), Page()),
    "metadata.team=infra": (Filters(metadata={"team": "infra"}), Page()),
    "metadata.agent_id=agent-42": (Filters(metadata={"agent_id": "agent-42"}), Page()),
    "metadata team+env": (Filters(metadata={"team": "data", "env": "prod"}), Page()),
    "created in one day": (
        Filters(created_after=_d("2026-01-02"), created_before=_d("2026-01-03")),
        Page(),
    ),
    "finished_after, sort=finished": (
        Filters(finished_after=_d("2026-01-03")),
        Page(sort=SortKey.FINISHED),
    ),
    "q=run 4242 (name part)": (Filters(q="run 4242"), Page()),
    "q=<id prefix>": (Filters(q="0f"), Page()),
    "sort=duration desc": (Filters(), Page(sort=SortKey.DURATION)),
    "sort=started asc": (Filters(), Page(sort=SortKey.STARTED, order=Order.ASC)),
    "status=failed, sort=duration": (Filters(statuses=["failed"]), Page(sort=SortKey.DURATION)),
}


async def time_case(conninfo: str, filters: Filters, page: Page) -> tuple[float, float]:
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        first = await timed(conn, filters, page)
        cursor = page.cursor
        for _ in range(DEPTH):
            _, cursor = await list_executions(conn, filters, _with(page, cursor))
            if cursor is None:
                break
        deep = await timed(conn, filters, _with(page, cursor)) if cursor else float("nan")
    return first, deep


async def timed(conn: psycopg.AsyncConnection, filters: Filters, page: Page) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        await list_executions(conn, filters, page)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def _with(page: Page, cursor: str | None) -> Page:
    return Page(sort=page.sort, order=page.order, limit=page.limit, cursor=cursor)


# The rollup of METRIC_EXECUTIONS executions over 30 days up to METRICS_END: 20 workflows
# (each on one of 3 queues), each minute of each starting and ending about as many,
# mostly completed. Day and hour rows for the 30 days; minute rows for the last 3 (a
# 30-day chart never reads them: the key begins with the grain).
METRIC_EXECUTIONS = 10_000_000
METRICS_END = datetime.fromisoformat("2026-02-01T00:00:00+00:00")
FILL_METRICS = f"""
INSERT INTO execution_metrics (grain, bucket, workflow_id, queue, status, n, value_count,
    value_sum_ms, value_min_ms, value_max_ms, histogram)
SELECT g.grain, b.bucket, 'wf-' || w, 'q-' || (w %% 3), s.status, s.share * g.per_bucket,
    s.share * g.per_bucket, s.share * g.per_bucket * 2500, 40, 90000,
    (SELECT array_agg(CASE WHEN i BETWEEN 18 AND 24 THEN s.share * g.per_bucket / 7 ELSE 0 END
                      ORDER BY i) FROM generate_series(1, {HISTOGRAM_BUCKETS}) AS i)
FROM (VALUES ('day', interval '1 day', 30), ('hour', interval '1 hour', 720),
             ('minute', interval '1 minute', 4320))
     AS grains(grain, step, buckets)
CROSS JOIN LATERAL (SELECT grains.grain,
    ({METRIC_EXECUTIONS} / 20 / (30 * 86400 / extract(epoch FROM grains.step)))::bigint
    AS per_bucket) AS g
CROSS JOIN LATERAL generate_series(
    %(end)s::timestamptz - grains.buckets * grains.step, %(end)s::timestamptz - grains.step,
    grains.step) AS b(bucket)
CROSS JOIN generate_series(1, 20) AS w
CROSS JOIN (VALUES ('running', 1.0), ('completed', 0.85), ('failed', 0.1), ('cancelled', 0.05))
    AS s(status, share)
"""
# The rows of every workflow and queue at once, as the projector keeps them too.
FILL_METRICS_ALL = f"""
INSERT INTO execution_metrics
SELECT grain, bucket, '*', '*', status, sum(n), sum(value_count), sum(value_sum_ms),
    min(value_min_ms), max(value_max_ms),
    ARRAY[{", ".join(f"sum(histogram[{i}])" for i in range(1, HISTOGRAM_BUCKETS + 1))}]::bigint[]
FROM execution_metrics GROUP BY grain, bucket, status
"""
METRIC_CASES = {
    "30 days by day": (timedelta(days=30), Bucket.DAY, None),
    "30 days by day, by workflow": (timedelta(days=30), Bucket.DAY, GroupBy.WORKFLOW),
    "30 days by hour": (timedelta(days=30), Bucket.HOUR, None),
    "7 days by hour, by queue": (timedelta(days=7), Bucket.HOUR, GroupBy.QUEUE),
    "30 days by hour, by workflow": (timedelta(days=30), Bucket.HOUR, GroupBy.WORKFLOW),
    "24 hours by hour": (timedelta(days=1), Bucket.HOUR, None),
    "6 hours by minute": (timedelta(hours=6), Bucket.MINUTE, None),
    "24 hours by minute, by queue": (timedelta(days=1), Bucket.MINUTE, GroupBy.QUEUE),
}


async def time_metrics(conninfo: str, span: timedelta, bucket: Bucket, by: GroupBy | None) -> float:
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        samples = []
        for _ in range(RUNS):
            start = time.perf_counter()
            await metrics(conn, METRICS_END - span, METRICS_END, bucket, by)
            samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def bench_metrics(conninfo: str) -> None:
    start = time.perf_counter()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        # What the migration does for executions projected before the rollup existed.
        conn.execute(rollup.FROM_EXECUTIONS)
        backfilled = time.perf_counter() - start
        conn.execute("TRUNCATE execution_metrics")
        conn.execute(FILL_METRICS, {"end": METRICS_END})
        conn.execute(FILL_METRICS_ALL)
        conn.execute("VACUUM ANALYZE execution_metrics")
        (rows,) = conn.execute("SELECT count(*) FROM execution_metrics").fetchone() or (0,)
    print(f"rollup of the executions above made in {backfilled:.1f}s")
    print(f"rollup of {METRIC_EXECUTIONS:,} executions over 30 days: {rows:,} rows")
    print(f"{'metrics case':34} {'ms':>10}")
    for name, (span, bucket, by) in METRIC_CASES.items():
        print(f"{name:34} {asyncio.run(time_metrics(conninfo, span, bucket, by)):10.2f}")


def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as home:
        server = None
        url = os.environ.get("EXECFLOW_DATABASE_URL")
        if not url:
            server = EmbeddedPostgres(Path(home) / "pg", cleanup="delete").start()
            url = ensure_database(server.url(), "bench")
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        try:
            ensure_schema(url, schema)
            conninfo = schema_conninfo(url, schema)
            migrate(url, schema)
            start = time.perf_counter()
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(FILL.replace("%s", str(rows)))
                conn.execute("ANALYZE executions")
            print(f"{rows} executions inserted in {time.perf_counter() - start:.1f}s")
            print(f"{'case':34} {'page 1 ms':>10} {'page 21 ms':>11}")
            for name, (filters, page) in CASES.items():
                first, deep = asyncio.run(time_case(conninfo, filters, page))
                print(f"{name:34} {first:10.2f} {deep:11.2f}")
            bench_metrics(conninfo)
        finally:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
