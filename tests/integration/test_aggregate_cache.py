"""The scheduler's aggregate cache holds executions in flight; a finished one leaves it
and is replayed from the store when a command touches it again."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from execflow_contracts import (
    CreateExecution,
    ExecutionStatus,
    ReportStepFinished,
    ReportStepStarted,
    RetryExecution,
)
from execflow_scheduler.settings import SchedulerSettings
from execflow_scheduler.wiring import build_application

from ..conftest import Names

ONE_STEP = {"steps": [{"id": "a", "run": {"command": ["true"]}}]}


def report(execution_id: UUID) -> dict[str, Any]:
    return {
        "execution_id": execution_id,
        "step_id": "a",
        "attempt": 1,
        "delivery": 1,
        "worker": "w",
        "actor": "w",
    }


def test_a_finished_execution_leaves_the_cache_and_is_replayed_when_touched(
    database_url: str, provisioned: Names
) -> None:
    app = build_application(
        SchedulerSettings(database_url=database_url, db_schema=provisioned.schema)
    )
    running, finished, again = uuid4(), uuid4(), uuid4()
    app.handle(
        [CreateExecution(execution_id=x, workflow=ONE_STEP, actor="t") for x in (running, finished)]
    )
    now = datetime.now(UTC)
    app.handle(
        [
            ReportStepStarted(started_at=now, **report(running)),
            ReportStepFinished(started_at=now, finished_at=now, exit_code=0, **report(finished)),
        ]
    )
    cache = app.repository.cache
    assert cache is not None
    assert cache.get(running).status is ExecutionStatus.RUNNING
    with pytest.raises(KeyError):
        cache.get(finished)

    _, outcomes = app.handle(
        [RetryExecution(execution_id=finished, new_execution_id=again, actor="t")]
    )
    assert [o.accepted for o in outcomes] == [True]
    replayed = app.get(finished)
    assert replayed.status is ExecutionStatus.COMPLETED
    assert replayed.steps["a"].status == "succeeded"
    assert app.get(again).status is ExecutionStatus.QUEUED
    app.close()
