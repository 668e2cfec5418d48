"""The catalogue's tables: workflow definitions, schedules, queue limits.

They live in the same schema as the event store and read models. The API writes
definitions, schedules and limits; the scheduler reads them to fire schedules and to
hold back work. Creating them is idempotent and serialised across processes.
"""

import psycopg

MIGRATION_LOCK = 7_351_002  # pg advisory lock id: one migrator at a time

DDL = """
CREATE TABLE IF NOT EXISTS workflow_definitions (
    workflow_id text NOT NULL,
    version integer NOT NULL,
    definition jsonb NOT NULL,
    digest text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, version)
);
CREATE TABLE IF NOT EXISTS schedules (
    id uuid PRIMARY KEY,
    workflow_id text NOT NULL,
    version integer,
    cron text,
    every_s double precision,
    timezone text NOT NULL,
    input jsonb,
    metadata jsonb NOT NULL DEFAULT '{}',
    priority integer,
    catchup text NOT NULL,
    paused boolean NOT NULL DEFAULT false,
    next_fire_at timestamptz NOT NULL,
    last_fired_at timestamptz,
    fires bigint NOT NULL DEFAULT 0,
    last_error text,
    created_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS schedules_by_next_fire ON schedules (next_fire_at) WHERE NOT paused;
CREATE TABLE IF NOT EXISTS queue_limits (
    queue text PRIMARY KEY,
    max_running integer
);
"""


def migrate(conninfo: str) -> None:
    """Create the catalogue in the schema that `conninfo`'s search_path names."""
    with psycopg.connect(conninfo) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(DDL)
