"""Executions, steps, attempts and transitions, from execution events, a batch at a time.

A batch first reads the version and status of every execution it touches, in one
statement, and locks those rows. From then on it decides in memory which events are
new to their execution (a redelivered or re-published one is not: its version is
there already) and what status each one finds (batch.py), so nothing it writes waits
for a result: in a pipelined transaction the whole batch goes out in a few round trips.
"""

from collections.abc import Collection, Iterable, Sequence
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from execflow_contracts import (
    AnyEvent,
    ExecutionCreated,
    ExecutionExpired,
    ExecutionStatus,
    StepFactsRecorded,
    StepStatus,
    namespace_of,
)

from . import facts, listing, rollup, steps
from .batch import Batch, Transition
from .bulk import RowsInsert
from .rows import ExecutionRow, update_statement

# What an expired execution is removed from, besides its row in `executions`.
READ_MODEL_TABLES = ("steps", "attempts", "transitions", "log_lines", "event_log")


async def apply_batch(conn: AsyncConnection, events: Sequence[AnyEvent]) -> None:
    batch = Batch(await lock_rows(conn, {event.execution_id for event in events}))
    for event in events:
        batch.take(event)
    # Created rows first: every later statement of the batch may touch them.
    await insert_created(conn, batch.created)
    writes = steps.StepWrites(conn)
    for event in batch.taken:
        if handler := steps.HANDLERS.get(type(event)):
            await handler(writes, event)
        elif isinstance(event, ExecutionExpired):
            await writes.flush()  # nothing noted for it may land after its rows are gone
            await expired(conn, event)
        elif isinstance(event, StepFactsRecorded):
            await facts.facts_recorded(conn, event)
        # Any other event writes nothing beyond its execution's row (a status change).
    await writes.flush()
    await update_rows(conn, batch.rows.values())
    await insert_transitions(conn, batch.transitions)
    await rollup.apply_transitions(conn, batch.transitions)  # reads the rows just written


async def lock_rows(conn: AsyncConnection, ids: Collection[UUID]) -> dict[UUID, ExecutionRow]:
    cursor = await conn.execute(
        "SELECT id, version, status FROM executions WHERE id = ANY(%s) FOR UPDATE", (list(ids),)
    )
    return {
        id_: ExecutionRow(id_, version, ExecutionStatus(status))
        for id_, version, status in await cursor.fetchall()
    }


async def expired(conn: AsyncConnection, event: ExecutionExpired) -> None:
    for table in READ_MODEL_TABLES:
        await conn.execute(f"DELETE FROM {table} WHERE execution_id = %s", (event.execution_id,))
    await conn.execute("DELETE FROM executions WHERE id = %s", (event.execution_id,))


INSERT_EXECUTIONS = RowsInsert(
    "executions",
    [
        ("id", "uuid"),
        ("version", "integer"),
        ("status", "text"),
        ("workflow", "jsonb"),
        ("input", "jsonb"),
        ("metadata", "jsonb"),
        ("n_steps", "integer"),
        ("created_at", "timestamptz"),
        ("updated_at", "timestamptz"),
        ("retry_of", "uuid"),
        ("parent_id", "uuid"),
        ("parent_step", "text"),
        ("workflow_id", "text"),
        ("workflow_version", "integer"),
        ("priority", "integer"),
        ("name", "text"),
        ("schedule_id", "text"),
        ("traceparent", "text"),
        ("namespace", "text"),
    ],
)
INSERT_STEPS = RowsInsert(
    "steps",
    [
        ("execution_id", "uuid"),
        ("step_id", "text"),
        ("position", "integer"),
        ("status", "text"),
        ("needs", "jsonb"),
        ("queue", "text"),
    ],
)
INSERT_TRANSITIONS = RowsInsert(
    "transitions",
    [
        ("execution_id", "uuid"),
        ("version", "integer"),
        ("type", "text"),
        ("from_status", "text"),
        ("to_status", "text"),
        ("reason", "text"),
        ("actor", "text"),
        ("at", "timestamptz"),
    ],
    "ON CONFLICT DO NOTHING",
)


async def insert_created(conn: AsyncConnection, created: Sequence[ExecutionCreated]) -> None:
    await INSERT_EXECUTIONS.run(conn, [execution_values(event) for event in created])
    await INSERT_STEPS.run(
        conn,
        [
            (
                event.execution_id,
                s.id,
                i,
                StepStatus.PENDING,
                Jsonb(s.needs),
                event.workflow.queue(s),
            )
            for event in created
            for i, s in enumerate(event.workflow.steps)
        ],
    )


def execution_values(event: ExecutionCreated) -> tuple[Any, ...]:
    return (
        event.execution_id,
        event.version,
        ExecutionStatus.PENDING,
        Jsonb(event.workflow.model_dump(mode="json", by_alias=True)),
        Jsonb(event.input),
        Jsonb(event.metadata),
        len(event.workflow.steps),
        event.at,
        event.at,
        event.retry_of,
        event.parent_id,
        event.parent_step,
        event.workflow_id,
        event.workflow_version,
        event.priority if event.priority is not None else event.workflow.priority,
        listing.columns(event)["name"],
        listing.schedule_id(event),
        event.traceparent,
        namespace_of(event.namespace),
    )


async def update_rows(conn: AsyncConnection, rows: Iterable[ExecutionRow]) -> None:
    """One UPDATE per execution that took an event beyond its creation; rows that write
    the same columns share a statement."""
    shapes: dict[tuple[tuple[str, ...], tuple[str, ...]], list[dict[str, Any]]] = {}
    for row in rows:
        if row.sets:
            shapes.setdefault(row.shape, []).append(row.params())
    async with conn.cursor() as cur:
        for (sets, stamps), params in shapes.items():
            await cur.executemany(update_statement(sets, stamps), params)


async def insert_transitions(conn: AsyncConnection, transitions: Sequence[Transition]) -> None:
    await INSERT_TRANSITIONS.run(conn, transitions)
