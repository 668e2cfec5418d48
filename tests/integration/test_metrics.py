"""Metrics over a known workload: exact counts, rates, min, max and averages, and
percentiles read from the rollup's histograms.

The executions are written as rows; the rollup counts them as it does when its table
is first made (from the executions read model). That the projector's batches count the
same from events is tested in test_metrics_rollup."""

import statistics
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from execflow_api.metrics import Bucket, GroupBy, metrics
from execflow_projector.projections import rollup

from .conftest import insert

pytestmark = pytest.mark.asyncio(loop_scope="function")

DAY = datetime(2026, 3, 1, tzinfo=UTC)


def at(hh_mm_ss: str) -> datetime:
    h, m, s = (int(x) for x in f"{hh_mm_ss}:0".split(":")[:3])
    return DAY + timedelta(hours=h, minutes=m, seconds=s)


async def workload(conn: psycopg.AsyncConnection) -> None:
    async def run(status: str, queued: str, started: str, ended: str | None, queue: str) -> None:
        execution_id = await insert(
            conn,
            status=status,
            created_at=at(queued),
            queued_at=at(queued),
            started_at=at(started),
            completed_at=at(ended) if ended else None,
        )
        # An execution's queue, to the rollup, is its first step's.
        await conn.execute(
            "INSERT INTO steps (execution_id, step_id, position, status, queue)"
            " VALUES (%s, 'a', 0, %s, %s)",
            (execution_id, status, queue),
        )

    await run("completed", "10:04", "10:05", "10:10", queue="a")  # waited 60 s, ran 5 min
    await run("failed", "10:20", "10:20", "11:05", queue="b")  # ran 45 min
    await run("running", "10:29:30", "10:30", None, queue="a")  # waited 30 s
    await run("cancelled", "11:00", "11:00", "11:01", queue="a")  # ran 1 min
    await run("completed", "09:00", "09:01", "09:02", queue="a")  # outside the range
    await conn.execute(rollup.FROM_EXECUTIONS)


async def test_hourly_metrics_count_starts_and_ends_in_their_own_buckets(
    conn: psycopg.AsyncConnection,
) -> None:
    await workload(conn)
    ten, eleven = await metrics(conn, at("10:00"), at("12:00"), Bucket.HOUR, None)

    assert ten["bucket"] == at("10:00")
    assert (ten["started"], ten["completed"], ten["failed"], ten["cancelled"]) == (3, 1, 0, 0)
    assert ten["success_rate"] == 1.0
    assert ten["duration_ms"] == dict.fromkeys(("min", "avg", "p50", "p95", "max"), 300_000.0)
    # Waits 0, 30 s and 60 s: the p95 lies between the second (read from its bucket,
    # 30-50 s) and the max (exact); percentile_cont would say 57 s.
    assert ten["queue_wait_ms"] == {"avg": 30_000.0, "p95": 58_000.0}

    assert eleven["bucket"] == at("11:00")
    assert (eleven["started"], eleven["completed"], eleven["failed"]) == (1, 0, 1)
    assert eleven["cancelled"] == 1
    assert eleven["success_rate"] == 0.0
    assert eleven["duration_ms"] == {
        "min": 60_000.0,
        "avg": 1_380_000.0,
        "p50": 1_380_000.0,
        "p95": 2_568_000.0,
        "max": 2_700_000.0,
    }
    assert eleven["queue_wait_ms"] == {"avg": 0.0, "p95": 0.0}


async def test_percentiles_from_the_histogram_stay_within_a_bucket_of_the_exact_ones(
    conn: psycopg.AsyncConnection,
) -> None:
    durations_s = [0.8, 1.3, 2.2, 3.1, 4.7, 6.5, 9.9, 12.0, 33.0, 95.0, 1_200.0]
    for seconds in durations_s:
        await insert(
            conn,
            status="completed",
            created_at=at("10:00"),
            queued_at=at("10:00"),
            started_at=at("10:00"),
            completed_at=at("10:00") + timedelta(seconds=seconds),
        )
    await conn.execute(rollup.FROM_EXECUTIONS)
    (day,) = await metrics(conn, at("00:00"), at("23:59"), Bucket.DAY, None)
    values = sorted(s * 1000 for s in durations_s)
    exact = {
        "p50": statistics.quantiles(values, n=100, method="inclusive")[49],
        "p95": statistics.quantiles(values, n=100, method="inclusive")[94],
    }
    assert day["completed"] == len(durations_s)
    assert day["duration_ms"]["min"] == 800.0
    assert day["duration_ms"]["max"] == 1_200_000.0
    assert day["duration_ms"]["avg"] == round(statistics.mean(values), 1)
    for name, value in exact.items():
        # Bucket bounds are at most 1.67 apart.
        assert value / 1.67 <= day["duration_ms"][name] <= value * 1.67, name


async def test_metrics_group_by_queue(conn: psycopg.AsyncConnection) -> None:
    await workload(conn)
    # Buckets are whole: the day's bucket holds the 09:00 run too.
    rows = await metrics(conn, at("10:00"), at("12:00"), Bucket.DAY, GroupBy.QUEUE)
    by_queue = {r["queue"]: r for r in rows}
    assert set(by_queue) == {"a", "b"}
    assert (by_queue["a"]["started"], by_queue["a"]["completed"]) == (4, 2)
    assert by_queue["a"]["cancelled"] == 1
    assert (by_queue["b"]["started"], by_queue["b"]["failed"]) == (1, 1)

    (only_b,) = await metrics(conn, at("10:00"), at("12:00"), Bucket.DAY, None, queue="b")
    assert (only_b["started"], only_b["failed"], only_b["completed"]) == (1, 1, 0)
    assert await metrics(conn, at("10:00"), at("12:00"), Bucket.DAY, None, workflow_id="x") == []
    assert by_queue["b"]["success_rate"] == 0.0
