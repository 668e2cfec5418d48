"""What the read side's queries need beyond the first schema: listing columns, indexes,
the event log and a total order of log lines. Every statement is idempotent."""

# Sorting by a column that stays empty until later (started, finished, duration) sorts
# on COALESCE(column, infinity) so that one b-tree serves both directions and a keyset
# condition on it is an index condition: empty keys come last ascending, first descending.
DDL = """
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
"""
