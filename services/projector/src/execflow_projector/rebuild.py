"""Rebuild read models from the event store into fresh tables, then swap them in.

The event store is the source of truth: a rebuild replays it, in notification order,
through the same projection functions the live projector runs, into a staging schema.
Then, holding the swap lock (so no live batch runs meanwhile), it applies the events
stored since, and moves the live tables out and the rebuilt ones in, in one
transaction: readers see the old tables or the new ones, never a mix.

Positions stay as they are. Every event the live projector has applied was stored
before it was published, so the catch-up under the lock has it; events published
later are applied by the projector as usual, and an event the rebuilt tables already
hold is skipped there by its version (executions) or its key (event log).

Log lines are not in the event store (they come from the LOGS stream), so they are
not rebuilt: the live `log_lines` table stays in place.
"""

import itertools
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import psycopg
from psycopg import AsyncConnection, sql

from execflow_contracts import ExecutionEvent
from execflow_platform import ensure_schema, schema_conninfo

from . import swap_lock
from .consumer import BatchApplier
from .projections import event_log, executions, rollup
from .schema import migrate
from .storable import storable_event


class EventStore(Protocol):
    """The event store, read in notification order."""

    def head(self) -> int: ...  # the latest notification id

    def events(self, after: int, upto: int) -> Iterable[tuple[int, ExecutionEvent]]: ...


@dataclass(frozen=True)
class ReadModel:
    tables: tuple[str, ...]
    apply: BatchApplier


READ_MODELS = {
    "executions": ReadModel(
        ("executions", "steps", "attempts", "transitions", rollup.TABLE), executions.apply_batch
    ),
    "event_log": ReadModel(("event_log",), event_log.apply_batch),
}
BATCH = 1000  # events applied, and committed, at a time


class UnknownReadModel(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown read model '{name}' (known: {', '.join(READ_MODELS)})")


@dataclass(frozen=True)
class RebuildReport:
    read_models: tuple[str, ...]
    tables: tuple[str, ...]
    events: int  # replayed into the staging tables before the swap
    caught_up: int  # stored meanwhile, applied under the swap lock
    seconds: float
    swap_ms: float  # how long the live tables were locked


def chosen(names: Sequence[str]) -> dict[str, ReadModel]:
    for name in names:
        if name not in READ_MODELS:
            raise UnknownReadModel(name)
    return {n: m for n, m in READ_MODELS.items() if not names or n in names}


async def rebuild(
    database_url: str, schema: str, store: EventStore, names: Sequence[str] = ()
) -> RebuildReport:
    models = chosen(names)
    tables = tuple(t for m in models.values() for t in m.tables)
    staging = f"{schema}_rebuild_{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    ensure_schema(database_url, staging)
    try:
        migrate(database_url, staging)
        conninfo = schema_conninfo(database_url, staging)
        async with await AsyncConnection.connect(conninfo) as conn:
            replayed, last = await replay(conn, store, 0, models.values())
            # Again, for what was stored meanwhile: the less is left, the shorter the lock.
            more, last = await replay(conn, store, last, models.values())
            swap_started = time.monotonic()
            async with conn.transaction():
                await swap_lock.exclusive(conn, schema)
                # No live batch runs now, and each one it applied was stored before:
                # up to the head, the rebuilt tables hold all the live ones do.
                caught_up, _ = await replay(conn, store, last, models.values(), commit=False)
                await swap(conn, schema, staging, tables)
            swap_ms = (time.monotonic() - swap_started) * 1000
    finally:
        drop_schemas(database_url, staging, retired(staging))
    return RebuildReport(
        tuple(models), tables, replayed + more, caught_up, time.monotonic() - started, swap_ms
    )


async def replay(
    conn: AsyncConnection,
    store: EventStore,
    after: int,
    models: Iterable[ReadModel],
    commit: bool = True,
) -> tuple[int, int]:
    """Apply the events after notification `after` up to the head, in batches as the live
    projector does; how many, and the head. The store is read synchronously: a rebuild
    is a one-off, alone in its process."""
    appliers = [m.apply for m in models]
    count, head = 0, store.head()
    events = (storable_event(event) for _, event in store.events(after, head))
    while batch := list(itertools.islice(events, BATCH)):
        async with conn.pipeline():
            for apply in appliers:
                await apply(conn, batch)
        count += len(batch)
        if commit:
            await conn.commit()
    return count, head


def retired(staging: str) -> str:
    return f"{staging}_old"


async def swap(conn: AsyncConnection, schema: str, staging: str, tables: Sequence[str]) -> None:
    """Move the live tables out of `schema` and the rebuilt ones in (with their indexes)."""
    old = retired(staging)
    await conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(old)))
    for table in tables:
        await copy_grants(conn, schema, staging, table)
        await conn.execute(
            sql.SQL("ALTER TABLE {}.{} SET SCHEMA {}").format(
                sql.Identifier(schema), sql.Identifier(table), sql.Identifier(old)
            )
        )
        await conn.execute(
            sql.SQL("ALTER TABLE {}.{} SET SCHEMA {}").format(
                sql.Identifier(staging), sql.Identifier(table), sql.Identifier(schema)
            )
        )


# What a role may be granted on a table (and nothing else is composed into a GRANT).
TABLE_PRIVILEGES = frozenset(
    ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN")
)


async def copy_grants(conn: AsyncConnection, schema: str, staging: str, table: str) -> None:
    """Grant on the rebuilt table what each role had on the live one (a service's role,
    see the README's least privilege), so that the projector goes on writing it and the
    api reading it once swapped in."""
    found = await conn.execute(
        "SELECT pg_get_userbyid(a.grantee), a.privilege_type FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a"
        " WHERE n.nspname = %s AND c.relname = %s AND a.grantee NOT IN (0, c.relowner)",
        (schema, table),
    )
    for grantee, privilege in await found.fetchall():
        if privilege in TABLE_PRIVILEGES:
            await conn.execute(
                sql.SQL("GRANT {} ON {}.{} TO {}").format(
                    sql.SQL(privilege),
                    sql.Identifier(staging),
                    sql.Identifier(table),
                    sql.Identifier(grantee),
                )
            )


def drop_schemas(database_url: str, *schemas: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        for name in schemas:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
