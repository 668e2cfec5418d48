-- depends: catalogue_0001_tables
-- Legal holds: an execution held here is kept past its time to live (the scheduler's
-- timers leave its `ttl` undue) until the hold is released. The API writes them.
CREATE TABLE IF NOT EXISTS legal_holds (
    execution_id uuid PRIMARY KEY,
    namespace text NOT NULL,
    reason text NOT NULL DEFAULT '',
    held_by text,
    held_at timestamptz NOT NULL DEFAULT now()
);
