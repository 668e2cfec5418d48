-- The scheduler's own tables beside the event store (which the eventsourcing library
-- creates): durable timers, held work and concurrency gates, the relay's position.
-- IF NOT EXISTS: schemas made before versioned migrations already have them.

-- Timers derived from events: retries, attempt and overall timeouts, cancel deadlines, TTLs.
CREATE TABLE IF NOT EXISTS timers (
    execution_id uuid NOT NULL,
    name text NOT NULL,
    due_at timestamptz NOT NULL,
    PRIMARY KEY (execution_id, name)
);
CREATE INDEX IF NOT EXISTS timers_by_due ON timers (due_at);

-- Work held back by queue and concurrency limits (see dispatch.py).
CREATE TABLE IF NOT EXISTS work_slots (
    execution_id uuid NOT NULL,
    step_id text NOT NULL,
    attempt integer NOT NULL,
    queue text NOT NULL,
    priority integer NOT NULL,
    seq bigserial,
    gates jsonb NOT NULL,
    subject text NOT NULL,
    payload bytea NOT NULL,
    msg_id text NOT NULL,
    released boolean NOT NULL DEFAULT false,
    -- Kept a while after the attempt ends, so that a relay replaying events after a
    -- crash does not hold (and run) the same work again.
    finished_at timestamptz,
    PRIMARY KEY (execution_id, step_id, attempt)
);
CREATE INDEX IF NOT EXISTS work_slots_waiting ON work_slots (priority DESC, seq)
    WHERE NOT released AND finished_at IS NULL;
CREATE TABLE IF NOT EXISTS gate_holders (
    gate text NOT NULL,
    execution_id uuid NOT NULL,
    PRIMARY KEY (gate, execution_id)
);

-- How far the outbox relay has published the event store's notifications.
CREATE TABLE IF NOT EXISTS relay_position (
    name text PRIMARY KEY,
    notification_id bigint NOT NULL
);
