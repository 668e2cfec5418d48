-- depends: projector_0004_namespaces
-- The metrics rollup counts each namespace apart (a key reads its namespace's only).
-- Rows counted before namespaces are `default`'s, as their executions are.
ALTER TABLE execution_metrics ADD COLUMN IF NOT EXISTS namespace text NOT NULL DEFAULT 'default';
ALTER TABLE execution_metrics DROP CONSTRAINT IF EXISTS execution_metrics_pkey;
ALTER TABLE execution_metrics
    ADD PRIMARY KEY (grain, bucket, namespace, workflow_id, queue, status);
