-- depends: catalogue_0002_legal_holds
-- Workflows and schedules belong to a namespace, as executions do: the same workflow id
-- in two namespaces is two workflows, each with its own versions. Rows made before
-- namespaces existed belong to `default`.
ALTER TABLE workflow_definitions ADD COLUMN IF NOT EXISTS namespace text NOT NULL DEFAULT 'default';
ALTER TABLE workflow_definitions DROP CONSTRAINT IF EXISTS workflow_definitions_pkey;
ALTER TABLE workflow_definitions ADD PRIMARY KEY (namespace, workflow_id, version);
ALTER TABLE schedules ADD COLUMN IF NOT EXISTS namespace text NOT NULL DEFAULT 'default';
CREATE INDEX IF NOT EXISTS schedules_by_namespace ON schedules (namespace, created_at);
