-- depends: projector_0002_metrics_rollup projector_0002_schedule_ids
-- Which making of its stream a projection's position counts in: a stream made anew (NATS
-- lost it) numbers its messages from 1 again, and the projection then reads it from its
-- start (what it has applied already is skipped by version or by key).
ALTER TABLE projection_positions ADD COLUMN IF NOT EXISTS stream_created timestamptz;
