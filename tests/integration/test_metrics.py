"""Metrics over a known workload: exact counts, rates, durations and queue waits."""

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from execflow_api.metrics import Bucket, GroupBy, metrics

from .conftest import insert

pytestmark = pytest.mark.asyncio(loop_scope="function")

DAY = datetime(2026, 3, 1, tzinfo=UTC)


def at(hh_mm_ss: str) -> datetime:
    h, m, s = (int(x) for x in f"{hh_mm_ss}:0".split(":")[:3])
    return DAY + timedelta(hours=h, minutes=m, seconds=s)


async def workload(conn: psycopg.AsyncConnection) -> None:
    def run(status: str, queued: str, started: str, ended: str | None, **kw: Any) -> Any:
        return insert(
            conn,
            status=status,
            created_at=at(queued),
            queued_at=at(queued),
            started_at=at(started),
            completed_at=at(ended) if ended else None,
            **kw,
        )

    await run("completed", "10:04", "10:05", "10:10", queue="a")  # waited 60 s, ran 5 min
    await run("failed", "10:20", "10:20", "11:05", queue="b")  # ran 45 min
    await run("running", "10:29:30", "10:30", None, queue="a")  # waited 30 s
    await run("cancelled", "11:00", "11:00", "11:01", queue="a")  # ran 1 min
    await run("completed", "09:00", "09:01", "09:02", queue="a")  # outside the range


async def test_hourly_metrics_count_starts_and_ends_in_their_own_buckets(
    conn: psycopg.AsyncConnection,
) -> None:
    await workload(conn)
    ten, eleven = await metrics(conn, at("10:00"), at("12:00"), Bucket.HOUR, None)

    assert ten["bucket"] == at("10:00")
    assert (ten["started"], ten["completed"], ten["failed"], ten["cancelled"]) == (3, 1, 0, 0)
    assert ten["success_rate"] == 1.0
    assert ten["duration_ms"] == dict.fromkeys(("min", "avg", "p50", "p95", "max"), 300_000.0)
    assert ten["queue_wait_ms"] == {"avg": 30_000.0, "p95": 57_000.0}

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


async def test_metrics_group_by_queue(conn: psycopg.AsyncConnection) -> None:
    await workload(conn)
    rows = await metrics(conn, at("10:00"), at("12:00"), Bucket.DAY, GroupBy.QUEUE)
    by_queue = {r["queue"]: r for r in rows}
    assert set(by_queue) == {"a", "b"}
    assert (by_queue["a"]["started"], by_queue["a"]["completed"]) == (3, 1)
    assert by_queue["a"]["cancelled"] == 1
    assert (by_queue["b"]["started"], by_queue["b"]["failed"]) == (1, 1)
    assert by_queue["b"]["success_rate"] == 0.0
