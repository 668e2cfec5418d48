"""The parts of the `eventsourcing` library's internals the scheduler relies on, and
the only module that touches them (the library is pinned;
`tests/integration/test_library_internals.py` fails loudly if an upgrade moves them).

The event store's recorder: the library's own, with a batch's events sent in binary
and inserted without a NOTIFY.

In text format psycopg escapes every field of every event (the JSON state as hex)
through regular expressions; that was about a tenth of the scheduler's CPU under load.
The binary format needs no escaping. What is stored is the same.

The library's insert function also notifies a channel at every commit, for its own
listening subscribers; we have none (the relay publishes what each save returns, and
reads the store only to catch up). A NOTIFY costs its transaction a database-wide lock
held until its commit is flushed, so every notifying commit (the projector's change
notices among them) would wait on the scheduler's.
"""

import contextlib
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Repository
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.sql import SQL, Identifier, Literal

# A writer's epoch (see writer_lock.py) is checked in the very transaction that inserts
# its events, holding the epoch's row shared until the commit: a writer that has been
# taken over (it was paused, say) inserts nothing, and the one taking over waits for any
# insert already under way. A NULL epoch is not checked (tools and tests, not a writer).
FENCED = "EXF01"
INSERT_EVENTS = """
CREATE OR REPLACE FUNCTION {schema}.{insert_events}(
    events {schema}.{event}[], p_epoch bigint
)
RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$
BEGIN
    IF p_epoch IS NOT NULL THEN
        PERFORM 1 FROM {schema}.writer_epoch AS w
            WHERE w.name = 'events' AND w.epoch = p_epoch FOR SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'EXF01',
                MESSAGE = 'another scheduler has taken over writing (epoch '
                    || p_epoch || ' is over)';
        END IF;
    END IF;
    RETURN QUERY
    INSERT INTO {schema}.{table} AS t (originator_id, originator_version, topic, state)
    SELECT originator_id, originator_version, topic, state FROM unnest(events)
    RETURNING notification_id;
END;
$BODY$
"""


class BinaryInsertRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        schema = Identifier(self.datastore.schema)
        insert_events = Identifier(self.pg_function_name_insert_events)
        self.fence(None)
        self.sql_create_statements[self.create_insert_function_statement_index] = SQL(
            INSERT_EVENTS
        ).format(
            schema=schema,
            insert_events=insert_events,
            event=Identifier(self.stored_event_type_name),
            table=Identifier(self.events_table_name),
        )

    def fence(self, epoch: int | None) -> None:
        """Insert as the writer of `epoch` (None: unchecked, for tools and tests)."""
        self.sql_invoke_pg_function_insert_events = SQL(
            "SELECT * FROM {schema}.{insert_events}((%b), {epoch}::bigint)"
        ).format(
            schema=Identifier(self.datastore.schema),
            insert_events=Identifier(self.pg_function_name_insert_events),
            epoch=SQL("NULL") if epoch is None else Literal(epoch),
        )


def fenced(exc: BaseException) -> bool:
    """The insert was refused: this scheduler is no longer the writer."""
    return isinstance(exc, psycopg.Error) and exc.sqlstate == FENCED


# Where a stored event keeps the trace context of the command that caused it.
TRACE_ATTRIBUTE = "traceparent"


def stamp_trace(event: object, traceparent: str) -> None:
    """Store `traceparent` with a new (not yet saved) domain event. The library saves an
    event's whole `__dict__` as its state and loads it back the same way, so an
    attribute set here is stored and read with the event, though its class does not
    declare it (events are frozen dataclasses: set as their own `__init__` sets fields).
    Events stored without one read as None (`trace_of`): no upcasting needed."""
    object.__setattr__(event, TRACE_ATTRIBUTE, traceparent)


def trace_of(event: object) -> str | None:
    value = vars(event).get(TRACE_ATTRIBUTE)
    return value if isinstance(value, str) else None


def evict(repository: Repository[UUID], aggregate_id: UUID) -> None:
    """Drop an aggregate from the repository's cache (if it is there)."""
    cache = repository.cache
    if cache is not None:
        with contextlib.suppress(KeyError):
            cache.get(aggregate_id, evict=True)
