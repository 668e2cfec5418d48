-- The read models as they stood when migrations became versioned: every statement is
-- idempotent, so that schemas made before then take it as they are.
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

-- What the read side's queries need beyond the first schema: listing columns, indexes,
-- the event log and a total order of log lines.
-- Sorting by a column that stays empty until later (started, finished, duration) sorts
-- on COALESCE(column, infinity) so that one b-tree serves both directions and a keyset
-- condition on it is an index condition: empty keys come last ascending, first descending.
ALTER TABLE executions ADD COLUMN IF NOT EXISTS workflow_id text;
ALTER TABLE executions ADD COLUMN IF NOT EXISTS name text;
ALTER TABLE executions ADD COLUMN IF NOT EXISTS queue text;
ALTER TABLE executions ADD COLUMN IF NOT EXISTS worker text;
ALTER TABLE executions ADD COLUMN IF NOT EXISTS parent_id uuid;
ALTER TABLE executions ADD COLUMN IF NOT EXISTS schedule_id text;
ALTER TABLE executions ADD COLUMN IF NOT EXISTS duration_ms bigint
    GENERATED ALWAYS AS ((extract(epoch FROM completed_at - started_at) * 1000)::bigint) STORED;
CREATE INDEX IF NOT EXISTS executions_by_workflow
    ON executions (workflow_id, created_at DESC, id DESC) WHERE workflow_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS executions_by_queue
    ON executions (queue, created_at DESC, id DESC) WHERE queue IS NOT NULL;
CREATE INDEX IF NOT EXISTS executions_by_worker
    ON executions (worker, created_at DESC, id DESC) WHERE worker IS NOT NULL;
CREATE INDEX IF NOT EXISTS executions_by_parent
    ON executions (parent_id, created_at DESC, id DESC) WHERE parent_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS executions_by_schedule
    ON executions (schedule_id, created_at DESC, id DESC) WHERE schedule_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS executions_by_started
    ON executions ((COALESCE(started_at, 'infinity'::timestamptz)), id);
CREATE INDEX IF NOT EXISTS executions_by_finished
    ON executions ((COALESCE(completed_at, 'infinity'::timestamptz)), id);
CREATE INDEX IF NOT EXISTS executions_by_duration
    ON executions ((COALESCE(duration_ms, 9223372036854775807)), id);
CREATE INDEX IF NOT EXISTS executions_by_metadata ON executions USING gin (metadata jsonb_path_ops);
CREATE TABLE IF NOT EXISTS event_log (
    execution_id uuid NOT NULL,
    version integer NOT NULL,
    type text NOT NULL,
    at timestamptz NOT NULL,
    body jsonb NOT NULL,
    PRIMARY KEY (execution_id, version)
);
ALTER TABLE log_lines ADD COLUMN IF NOT EXISTS id bigint GENERATED ALWAYS AS IDENTITY;
CREATE INDEX IF NOT EXISTS log_lines_by_id ON log_lines (execution_id, id);

-- Step facts on the execution: agent actions and screenshots counted, checkpoints and
-- artifacts listed.
ALTER TABLE executions ADD COLUMN IF NOT EXISTS n_agent_actions integer NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN IF NOT EXISTS n_screenshots integer NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN IF NOT EXISTS checkpoints jsonb NOT NULL DEFAULT '[]';
ALTER TABLE executions ADD COLUMN IF NOT EXISTS artifacts jsonb NOT NULL DEFAULT '[]';
