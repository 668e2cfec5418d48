-- depends: projector_0003_stream_epochs projector_0003_traces
-- Whose each execution is (a namespace: API keys see their own only). Executions made
-- before namespaces are `default`'s.
ALTER TABLE executions ADD COLUMN IF NOT EXISTS namespace text NOT NULL DEFAULT 'default';
CREATE INDEX IF NOT EXISTS executions_by_namespace
    ON executions (namespace, created_at DESC, id DESC);
