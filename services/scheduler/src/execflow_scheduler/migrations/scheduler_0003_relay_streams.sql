-- depends: scheduler_0002_writer_epoch
-- Which making of each stream the relay has published into: a stream NATS lost and made
-- anew is filled again from the event store (see relay.py).
CREATE TABLE IF NOT EXISTS relay_streams (
    stream text PRIMARY KEY,
    created timestamptz NOT NULL
);
