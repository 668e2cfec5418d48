"""The read models' tables. Creating them is idempotent and serialised across processes."""

import psycopg

from . import schema_queries
from .projections import facts

MIGRATION_LOCK = 7_351_001  # pg advisory lock id: one migrator at a time

DDL = """
CREATE TABLE IF NOT EXISTS projection_positions (
    name text PRIMARY KEY,
    position bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS executions (
    id uuid PRIMARY KEY,
    version integer NOT NULL,
    status text NOT NULL,
    message text NOT NULL DEFAULT '',
    workflow jsonb NOT NULL,
    input jsonb,
    metadata jsonb NOT NULL DEFAULT '{}',
    output jsonb,
    error jsonb,
    n_steps integer NOT NULL,
    created_at timestamptz NOT NULL,
    queued_at timestamptz,
    started_at timestamptz,
    completed_at timestamptz,
    updated_at timestamptz NOT NULL,
    retry_of uuid,
    retried_by uuid,
    parent_id uuid,
    parent_step text,
    progress jsonb,
    stopped_steps jsonb,
    -- When the latest event reached this row: `projected_at - updated_at` is the lag.
    projected_at timestamptz DEFAULT clock_timestamp()
);
ALTER TABLE executions ADD COLUMN IF NOT EXISTS projected_at timestamptz
    DEFAULT clock_timestamp();
CREATE INDEX IF NOT EXISTS executions_by_parent ON executions (parent_id)
    WHERE parent_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS executions_by_created ON executions (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS executions_by_status ON executions (status, created_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS steps (
    execution_id uuid NOT NULL,
    step_id text NOT NULL,
    position integer NOT NULL,
    status text NOT NULL,
    needs jsonb NOT NULL DEFAULT '[]',
    queue text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    worker text,
    exit_code integer,
    error text,
    message text NOT NULL DEFAULT '',
    started_at timestamptz,
    finished_at timestamptz,
    output jsonb,
    next_attempt_at timestamptz,
    prompt text,
    input_schema jsonb,
    asking boolean NOT NULL DEFAULT false,
    child_id uuid,
    progress jsonb,
    PRIMARY KEY (execution_id, step_id)
);
CREATE TABLE IF NOT EXISTS attempts (
    execution_id uuid NOT NULL,
    step_id text NOT NULL,
    attempt integer NOT NULL,
    delivery integer NOT NULL,
    status text NOT NULL,
    worker text,
    exit_code integer,
    error text,
    error_kind text,
    started_at timestamptz,
    finished_at timestamptz,
    PRIMARY KEY (execution_id, step_id, attempt, delivery)
);
CREATE TABLE IF NOT EXISTS transitions (
    execution_id uuid NOT NULL,
    version integer NOT NULL,
    type text NOT NULL,
    from_status text,
    to_status text NOT NULL,
    reason text NOT NULL DEFAULT '',
    actor text NOT NULL,
    at timestamptz NOT NULL,
    PRIMARY KEY (execution_id, version)
);
CREATE TABLE IF NOT EXISTS log_lines (
    execution_id uuid NOT NULL,
    step_id text NOT NULL,
    attempt integer NOT NULL,
    delivery integer NOT NULL DEFAULT 1,
    seq integer NOT NULL,
    stream text NOT NULL,
    at timestamptz NOT NULL,
    line text NOT NULL,
    PRIMARY KEY (execution_id, step_id, attempt, delivery, seq)
);
-- Registered workflows (issue 4): which definition an execution runs, and its priority.
ALTER TABLE executions ADD COLUMN IF NOT EXISTS workflow_id text;
ALTER TABLE executions ADD COLUMN IF NOT EXISTS workflow_version integer;
ALTER TABLE executions ADD COLUMN IF NOT EXISTS priority integer NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS executions_by_workflow ON executions (workflow_id, created_at DESC)
    WHERE workflow_id IS NOT NULL;
"""


def migrate(conninfo: str) -> None:
    """Create the read models in the schema that `conninfo`'s search_path names."""
    with psycopg.connect(conninfo) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(DDL)
        conn.execute(schema_queries.DDL)
        conn.execute(facts.DDL)
