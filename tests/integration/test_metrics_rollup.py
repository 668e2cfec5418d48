"""The metrics rollup as the projector keeps it: counted from a batch's new transitions,
once each, in the batch's transaction; the same as counting the executions read model
afterwards (what the table's creation does for executions projected before it)."""

from collections import Counter
from uuid import uuid4

import psycopg
import pytest

from execflow_platform import schema_conninfo
from execflow_projector.projections import rollup

from ..conftest import Names
from .test_projection_batches import eventful_events, project, stored_events

pytestmark = pytest.mark.asyncio(loop_scope="function")


def rollup_rows(conninfo: str) -> list[tuple[object, ...]]:
    with psycopg.connect(conninfo) as conn:
        return conn.execute(
            "SELECT grain, bucket, workflow_id, queue, status, n, value_count, value_sum_ms,"
            " value_min_ms, value_max_ms, histogram FROM execution_metrics ORDER BY 1, 2, 3, 4, 5"
        ).fetchall()


async def test_events_count_once_each_and_as_the_read_model_counts_them(
    database_url: str, provisioned: Names
) -> None:
    events = [
        *stored_events(database_url, provisioned.schema, uuid4(), uuid4()),
        *eventful_events(database_url, provisioned.schema),
    ]
    conninfo = schema_conninfo(database_url, provisioned.schema)
    await project(conninfo, events, batch=7)
    await project(conninfo, events, batch=len(events))  # redelivered: counts nothing
    counted = rollup_rows(conninfo)

    by_status: Counter[tuple[str, str]] = Counter()
    everything: Counter[tuple[str, str]] = Counter()
    for grain, _, workflow_id, queue, status, n, *_ in counted:
        if (workflow_id, queue) == ("*", "*"):
            everything[grain, status] += n  # every workflow and queue at once
        else:
            by_status[grain, status] += n
    # Four executions started (one only starts); one completed, one failed, one cancelled.
    assert by_status == {
        (grain, status): n
        for grain in rollup.GRAINS
        for status, n in (("running", 4), ("completed", 1), ("failed", 1), ("cancelled", 1))
    }
    assert everything == by_status

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DELETE FROM execution_metrics")
        conn.execute(rollup.FROM_EXECUTIONS)
    assert rollup_rows(conninfo) == counted
