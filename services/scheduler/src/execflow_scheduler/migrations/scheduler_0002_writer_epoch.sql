-- The writer's epoch: a scheduler that takes the writer lock moves it on, and every
-- insert into the event store checks it (see eventsourcing_internals.py), so that a
-- scheduler paused past its takeover writes nothing when it wakes.
CREATE TABLE IF NOT EXISTS writer_epoch (
    name text PRIMARY KEY,
    epoch bigint NOT NULL
);
INSERT INTO writer_epoch (name, epoch) VALUES ('events', 0) ON CONFLICT (name) DO NOTHING;
