-- The catalogue: workflow definitions, schedules, queue limits (written by the API,
-- read by the scheduler). IF NOT EXISTS: schemas made before versioned migrations
-- already have these tables.
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
