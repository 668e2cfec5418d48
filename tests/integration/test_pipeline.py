"""A command in → events stored and published → read models updated, on real servers.

The scheduler and projector run in this process (their `serve` functions), against
a real nats-server and a real PostgreSQL.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import psycopg
import pytest

from execflow_contracts import (
    CreateExecution,
    ReportStepFinished,
    ReportStepStarted,
    Topology,
    WorkflowSpec,
    parse_event,
)
from execflow_platform import Outgoing, connect, publish_all, schema_conninfo
from execflow_projector.settings import ProjectorSettings
from execflow_projector.wiring import serve as serve_projector
from execflow_scheduler.settings import SchedulerSettings
from execflow_scheduler.wiring import build_application
from execflow_scheduler.wiring import serve as serve_scheduler

from ..conftest import Names

pytestmark = pytest.mark.asyncio(loop_scope="function")

TWO_STEPS = WorkflowSpec.model_validate(
    {
        "steps": [
            {"id": "a", "run": {"command": ["true"]}},
            {"id": "b", "needs": ["a"], "run": {"command": ["true"]}},
        ]
    }
)


@contextlib.asynccontextmanager
async def running(nats_url: str, database_url: str, names: Names) -> AsyncIterator[None]:
    common = {
        "nats_url": nats_url,
        "database_url": database_url,
        "db_schema": names.schema,
        "bus_prefix": names.prefix,
    }
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(serve_scheduler(SchedulerSettings(**common), stop)),
        asyncio.create_task(serve_projector(ProjectorSettings(**common), stop)),
    ]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def send(nats_url: str, topology: Topology, *commands: object) -> None:
    nc = await connect(nats_url, "test")
    try:
        await publish_all(
            nc.jetstream(),
            [
                Outgoing(
                    topology.command(c.execution_id, type(c).__name__),  # type: ignore[attr-defined]
                    c.model_dump_json().encode(),  # type: ignore[attr-defined]
                    c.dedupe_id,  # type: ignore[attr-defined]
                )
                for c in commands
            ],
        )
    finally:
        await nc.close()


async def wait_for(conninfo: str, sql: str, params: tuple[object, ...], expected: object) -> None:
    last = None
    for _ in range(100):
        async with await psycopg.AsyncConnection.connect(conninfo) as conn:
            cur = await conn.execute(sql, params)
            row = await cur.fetchone()
            last = row[0] if row else None
        if last == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{sql} gave {last!r}, expected {expected!r}")


async def published_events(nats_url: str, topology: Topology, execution_id: UUID) -> list[str]:
    nc = await connect(nats_url, "test")
    js = nc.jetstream()
    sub = await js.subscribe(
        topology.event(execution_id, "*"), stream=topology.events_stream, ordered_consumer=True
    )
    names = []
    with contextlib.suppress(TimeoutError):
        while True:
            msg = await sub.next_msg(timeout=0.5)
            names.append(type(parse_event(msg.data)).__name__)
    await nc.close()
    return names


async def test_a_command_becomes_stored_published_and_projected_events(
    nats_url: str, database_url: str, provisioned: Names
) -> None:
    topology = Topology(provisioned.prefix)
    conninfo = schema_conninfo(database_url, provisioned.schema)
    execution_id = uuid4()
    async with running(nats_url, database_url, provisioned):
        await send(
            nats_url,
            topology,
            CreateExecution(execution_id=execution_id, workflow=TWO_STEPS, input={"n": 1}),
        )
        await wait_for(
            conninfo, "SELECT status FROM executions WHERE id = %s", (execution_id,), "queued"
        )
        await send(
            nats_url,
            topology,
            ReportStepStarted(
                execution_id=execution_id,
                step_id="a",
                attempt=1,
                worker="w",
                started_at="2026-01-01T00:00:00Z",
            ),
            ReportStepFinished(
                execution_id=execution_id,
                step_id="a",
                attempt=1,
                worker="w",
                started_at="2026-01-01T00:00:00Z",
                finished_at="2026-01-01T00:00:01Z",
                exit_code=0,
            ),
        )
        await wait_for(
            conninfo,
            "SELECT status FROM steps WHERE execution_id = %s AND step_id = 'b'",
            (execution_id,),
            "queued",
        )

    app = build_application(
        SchedulerSettings(database_url=database_url, db_schema=provisioned.schema)
    )
    stored = [type(e).__name__ for e in app.events.get(execution_id)]
    app.close()
    assert stored == [
        "ExecutionCreated",
        "StepDispatched",
        "ExecutionQueued",
        "StepStarted",
        "ExecutionStarted",
        "StepSucceeded",
        "StepDispatched",
    ]
    assert await published_events(nats_url, topology, execution_id) == stored
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        cur = await conn.execute(
            "SELECT version, status, input FROM executions WHERE id = %s", (execution_id,)
        )
        assert await cur.fetchone() == (7, "running", {"n": 1})
        cur = await conn.execute(
            "SELECT type, to_status FROM transitions WHERE execution_id = %s ORDER BY version",
            (execution_id,),
        )
        assert await cur.fetchall() == [
            ("init", "pending"),
            ("queue", "queued"),
            ("start", "running"),
            ("step", "running"),
        ]


async def test_resent_commands_and_redelivered_events_do_not_double_apply(
    nats_url: str, database_url: str, provisioned: Names
) -> None:
    topology = Topology(provisioned.prefix)
    conninfo = schema_conninfo(database_url, provisioned.schema)
    execution_id = uuid4()
    create = CreateExecution(execution_id=execution_id, workflow=TWO_STEPS)
    finished = ReportStepFinished(
        execution_id=execution_id,
        step_id="a",
        attempt=1,
        worker="w",
        started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:00:01Z",
        exit_code=0,
    )
    async with running(nats_url, database_url, provisioned):
        await send(nats_url, topology, create, finished)
        await wait_for(conninfo, "SELECT version FROM executions WHERE id = %s", (execution_id,), 7)
        nc = await connect(nats_url, "test")
        js = nc.jetstream()
        # The same commands again, past the bus's dedupe (new message ids): no new event.
        await publish_all(
            js,
            [
                Outgoing(
                    topology.command(execution_id, type(c).__name__),
                    c.model_dump_json().encode(),
                    f"again-{i}",
                )
                for i, c in enumerate((create, finished))
            ],
        )
        # Older events published again with new message ids, as after a lost relay
        # position: arriving after newer ones, they must not roll the read models back.
        sub = await js.subscribe(
            topology.event(execution_id, "*"), stream=topology.events_stream, ordered_consumer=True
        )
        originals = [await sub.next_msg(timeout=2) for _ in range(7)]
        await publish_all(
            js, [Outgoing(m.subject, m.data, f"replay-{i}") for i, m in enumerate(originals[:4])]
        )
        await nc.close()
        await wait_for(
            conninfo,
            "SELECT position FROM projection_positions WHERE name = 'projector-events'",
            (),
            11,
        )

    app = build_application(
        SchedulerSettings(database_url=database_url, db_schema=provisioned.schema)
    )
    assert len(list(app.events.get(execution_id))) == 7
    app.close()
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        cur = await conn.execute(
            "SELECT version, status FROM executions WHERE id = %s", (execution_id,)
        )
        assert await cur.fetchone() == (7, "running")
        cur = await conn.execute(
            "SELECT step_id, status, attempts FROM steps WHERE execution_id = %s ORDER BY step_id",
            (execution_id,),
        )
        assert await cur.fetchall() == [("a", "succeeded", 1), ("b", "queued", 1)]
        cur = await conn.execute(
            "SELECT count(*) FROM transitions WHERE execution_id = %s", (execution_id,)
        )
        assert await cur.fetchone() == (4,)
