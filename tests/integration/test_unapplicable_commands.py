"""A command that fails on its own at every try is parked with its reason; the commands
batched with it are applied (they used to come back with it, for ever)."""

from uuid import uuid4

import pytest

from execflow_contracts import (
    CreateExecution,
    ErrorCode,
    ExecutionNotFound,
    ExecutionStatus,
    ExecutionTimeout,
    WorkflowSpec,
)
from execflow_scheduler.settings import SchedulerSettings
from execflow_scheduler.wiring import build_application

from ..conftest import Names

ONE_STEP = WorkflowSpec.model_validate({"steps": [{"id": "a", "run": {"command": ["true"]}}]})


def test_an_unapplicable_command_is_refused_alone(database_url: str, provisioned: Names) -> None:
    app = build_application(
        SchedulerSettings(database_url=database_url, db_schema=provisioned.schema)
    )
    # A timeout no calendar holds, as a sender that skipped validation could send it:
    # its deadline overflows in the handler.
    beyond = ONE_STEP.model_copy(
        update={"timeout": ExecutionTimeout.model_construct(overall=1e300, attempt=None)}
    )
    before, bad, after = uuid4(), uuid4(), uuid4()
    _, outcomes = app.handle(
        [
            CreateExecution(execution_id=before, workflow=ONE_STEP, actor="t"),
            CreateExecution(execution_id=bad, workflow=beyond, actor="t"),
            CreateExecution(execution_id=after, workflow=ONE_STEP, actor="t"),
        ]
    )
    assert [o.accepted for o in outcomes] == [True, False, True]
    assert outcomes[1].code == ErrorCode.UNAPPLICABLE_COMMAND
    assert "OverflowError" in outcomes[1].reason
    assert app.get(before).status is ExecutionStatus.QUEUED  # its step dispatched
    assert app.get(after).status is ExecutionStatus.QUEUED
    with pytest.raises(ExecutionNotFound):
        app.get(bad)
