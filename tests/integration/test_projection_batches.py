"""The events projections, a batch at a time, on a real PostgreSQL: a batch holding
whole executions ends where one event at a time does, whatever its step events (their
writes are folded), and applying it again (redelivered, or re-published with older
events) changes nothing. An event log consumer left by an
earlier version is retired with nothing missing from the event log."""

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from execflow_contracts import (
    AnyCommand,
    AnyEvent,
    CancelExecution,
    CreateExecution,
    ReportStepFinished,
    ReportStepProgress,
    ReportStepQuestion,
    ReportStepStarted,
    ResumeExecution,
    Topology,
    WorkflowSpec,
    parse_event,
)
from execflow_platform import (
    connect,
    durable_pull_consumer,
    ensure_schema,
    publish_all,
    pull_subscription,
    schema_conninfo,
)
from execflow_projector.projections import event_log, executions
from execflow_projector.retired import retire_event_log_consumer
from execflow_projector.schema import migrate
from execflow_scheduler.publishing import outgoing, to_contract
from execflow_scheduler.settings import SchedulerSettings
from execflow_scheduler.wiring import build_application

from ..conftest import Names

pytestmark = pytest.mark.asyncio(loop_scope="function")

TABLES = ("executions", "steps", "attempts", "transitions", "event_log", "execution_metrics")
TWO_STEPS = WorkflowSpec.model_validate(
    {
        "steps": [
            {"id": "a", "run": {"command": ["true"]}},
            {"id": "b", "needs": ["a"], "queue": "gpu", "run": {"command": ["true"]}},
        ]
    }
)
T = "2026-01-01T00:00:0{}Z"


def as_stored(database_url: str, schema: str, commands: Sequence[AnyCommand]) -> list[AnyEvent]:
    """The events the scheduler stores for the commands, as the projector gets them."""
    app = build_application(SchedulerSettings(database_url=database_url, db_schema=schema))
    try:
        recordings = [r for command in commands for r in app.handle([command])[0]]
        # As the projector gets them: published, then parsed.
        return [
            parse_event(to_contract(r.domain_event).model_dump_json().encode()) for r in recordings
        ]
    finally:
        app.close()


def stored_events(database_url: str, schema: str, done: UUID, started: UUID) -> list[AnyEvent]:
    """Two executions' events, interleaved as the scheduler stores them: `done` runs both
    steps to completion (with progress on the way), `started` only starts."""

    def step(execution_id: UUID, step_id: str, finish: bool = True) -> list[AnyCommand]:
        report = {"execution_id": execution_id, "step_id": step_id, "attempt": 1, "worker": "w"}
        commands: list[AnyCommand] = [ReportStepStarted(**report, started_at=T.format(1))]
        if finish:
            commands += [
                ReportStepProgress(**report, current=1, max=2, sequence=1),
                ReportStepFinished(
                    **report, started_at=T.format(1), finished_at=T.format(2), exit_code=0
                ),
            ]
        return commands

    commands: list[AnyCommand] = [
        CreateExecution(execution_id=done, workflow=TWO_STEPS, input={"n": 1}),
        CreateExecution(execution_id=started, workflow=TWO_STEPS),
        *step(done, "a"),
        *step(started, "a", finish=False),
        *step(done, "b"),
    ]
    return as_stored(database_url, schema, commands)


def eventful_events(database_url: str, schema: str) -> list[AnyEvent]:
    """Every kind of step write, one after another on the same steps and attempts: a
    delivery lost and started again elsewhere, a question and its answer, a failure that
    stops its sibling, and a cancellation while a step runs."""
    fails, cancelled = uuid4(), uuid4()
    three = WorkflowSpec.model_validate(
        {
            "steps": [
                {"id": "a", "run": {"command": ["true"]}},
                {"id": "b", "needs": ["a"], "run": {"command": ["true"]}},
                {"id": "c", "needs": ["a"], "run": {"command": ["true"]}},
            ]
        }
    )

    def report(execution_id: UUID, step_id: str, delivery: int = 1) -> dict[str, Any]:
        return {
            "execution_id": execution_id,
            "step_id": step_id,
            "attempt": 1,
            "delivery": delivery,
            "worker": f"w{delivery}",
        }

    commands: list[AnyCommand] = [
        CreateExecution(execution_id=fails, workflow=three),
        CreateExecution(execution_id=cancelled, workflow=three),
        ReportStepStarted(**report(fails, "a"), started_at=T.format(1)),
        ReportStepStarted(**report(fails, "a", delivery=2), started_at=T.format(2)),
        ReportStepQuestion(**report(fails, "a", delivery=2), prompt="go on?", sequence=1),
        ResumeExecution(execution_id=fails, step_id="a", input={"yes": True}, request_id="r1"),
        ReportStepFinished(
            **report(fails, "a", delivery=2),
            started_at=T.format(2),
            finished_at=T.format(3),
            exit_code=0,
        ),
        ReportStepStarted(**report(fails, "b"), started_at=T.format(4)),
        ReportStepFinished(
            **report(fails, "b"),
            started_at=T.format(4),
            finished_at=T.format(5),
            exit_code=3,
            error="exit code 3",
        ),
        ReportStepStarted(**report(cancelled, "a"), started_at=T.format(1)),
        CancelExecution(execution_id=cancelled, reason="enough", request_id="r2"),
        ReportStepFinished(
            **report(cancelled, "a"),
            started_at=T.format(1),
            finished_at=T.format(2),
            exit_code=143,
            error="stopped",
        ),
    ]
    return as_stored(database_url, schema, commands)


async def project(conninfo: str, events: Sequence[AnyEvent], batch: int) -> None:
    """As the events consumer does: both read models, a pipelined transaction per batch."""
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        for start in range(0, len(events), batch):
            chunk = events[start : start + batch]
            async with conn.pipeline(), conn.transaction():
                await executions.apply_batch(conn, chunk)
                await event_log.apply_batch(conn, chunk)


def snapshot(conninfo: str) -> dict[str, list[str]]:
    """Every row of every table; `projected_at` says when, not what."""
    with psycopg.connect(conninfo) as conn:
        return {
            table: sorted(
                json.dumps(row[0], sort_keys=True)
                for row in conn.execute(f"SELECT to_jsonb(t) - 'projected_at' FROM {table} t")
            )
            for table in TABLES
        }


async def test_a_batch_ends_where_one_event_at_a_time_does_and_again_changes_nothing(
    database_url: str, provisioned: Names
) -> None:
    done, started = uuid4(), uuid4()
    events = stored_events(database_url, provisioned.schema, done, started)
    batched = schema_conninfo(database_url, provisioned.schema)
    one_by_one_schema = f"{provisioned.schema}_one"
    ensure_schema(database_url, one_by_one_schema)
    one_by_one = schema_conninfo(database_url, one_by_one_schema)
    migrate(database_url, one_by_one_schema)

    await project(batched, events, batch=len(events))
    await project(one_by_one, events, batch=1)
    after = snapshot(batched)
    assert after == snapshot(one_by_one)

    await project(batched, events, batch=len(events))  # redelivered
    await project(batched, events[:5], batch=len(events))  # older ones re-published
    assert snapshot(batched) == after

    with psycopg.connect(batched) as conn:
        row = conn.execute(
            "SELECT version, status, queue, worker, progress->>'step_id', queued_at IS NOT NULL,"
            " started_at IS NOT NULL, completed_at IS NOT NULL, projected_at IS NOT NULL"
            " FROM executions WHERE id = %s",
            (done,),
        ).fetchone()
        last = max(e.version for e in events if e.execution_id == done)
        assert row == (last, "completed", "gpu", "w", "b", True, True, True, True)
        transitions = conn.execute(
            "SELECT type, from_status, to_status FROM transitions WHERE execution_id = %s"
            " ORDER BY version",
            (started,),
        ).fetchall()
        assert transitions == [
            ("init", None, "pending"),
            ("queue", "pending", "queued"),
            ("start", "queued", "running"),
        ]
        steps = conn.execute(
            "SELECT step_id, status FROM steps WHERE execution_id = %s ORDER BY position",
            (started,),
        ).fetchall()
        assert steps == [("a", "running"), ("b", "pending")]


async def test_every_kind_of_step_event_ends_batched_where_it_does_one_at_a_time(
    database_url: str, provisioned: Names
) -> None:
    events = eventful_events(database_url, provisioned.schema)
    kinds = {type(e).__name__ for e in events}
    assert {"StepDeliveryLost", "InputRequested", "InputProvided", "StepCancelled"} <= kinds
    one_by_one = schema_conninfo(database_url, provisioned.schema)
    await project(one_by_one, events, batch=1)
    expected = snapshot(one_by_one)

    for batch in (len(events), 5, 2):
        schema = f"{provisioned.schema}_b{batch}"
        ensure_schema(database_url, schema)
        batched = schema_conninfo(database_url, schema)
        migrate(database_url, schema)
        await project(batched, events, batch=batch)
        assert snapshot(batched) == expected, f"batches of {batch}"

    with psycopg.connect(one_by_one) as conn:
        attempts = conn.execute(
            "SELECT step_id, delivery, status, worker FROM attempts ORDER BY 1, 2, 3"
        ).fetchall()
        steps = conn.execute("SELECT step_id, status FROM steps ORDER BY 1, 2").fetchall()
    assert attempts == [
        ("a", 1, "failed", "w1"),  # the cancelled one's, stopped: it reported its end
        ("a", 1, "lost", "w1"),
        ("a", 2, "succeeded", "w2"),
        ("b", 1, "failed", "w1"),
    ]
    assert steps == [
        ("a", "cancelled"),
        ("a", "succeeded"),
        ("b", "cancelled"),
        ("b", "failed"),
        ("c", "cancelled"),
        ("c", "cancelled"),
    ]


async def test_the_old_event_log_consumer_is_retired_with_its_gap_filled(
    nats_url: str, database_url: str, provisioned: Names
) -> None:
    topology = Topology(provisioned.prefix)
    conninfo = schema_conninfo(database_url, provisioned.schema)
    events = stored_events(database_url, provisioned.schema, uuid4(), uuid4())
    old = topology.projector_event_log_consumer
    nc = await connect(nats_url, "test")
    js = nc.jetstream()
    try:
        await publish_all(js, outgoing(events, topology, direct=()))
        await pull_subscription(
            js, topology.events_stream, durable_pull_consumer(old, topology.all_events, 10)
        )
        # As an earlier version left it: the event log 3 events behind the executions.
        async with await psycopg.AsyncConnection.connect(conninfo) as conn:
            await executions.apply_batch(conn, events)
            await event_log.apply_batch(conn, events[:-3])
            await conn.execute(
                "INSERT INTO projection_positions VALUES (%s, %s), (%s, %s)",
                (topology.projector_events_consumer, len(events), old, len(events) - 3),
            )
            await conn.commit()

        async with AsyncConnectionPool(conninfo, open=False) as pool:
            await retire_event_log_consumer(js, pool, topology)
            await retire_event_log_consumer(js, pool, topology)  # nothing left to do

        with psycopg.connect(conninfo) as conn:
            logged = conn.execute("SELECT execution_id, version FROM event_log").fetchall()
            assert sorted(logged) == sorted((e.execution_id, e.version) for e in events)
            names = conn.execute("SELECT name FROM projection_positions").fetchall()
            assert names == [(topology.projector_events_consumer,)]
        consumers = await js.consumers_info(topology.events_stream)
        assert old not in [c.name for c in consumers]
    finally:
        await nc.close()
