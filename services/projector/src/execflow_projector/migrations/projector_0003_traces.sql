-- The trace an execution's journey is recorded in (the W3C trace context its creation
-- was stored with): the API shows its trace id, and follow-up requests join it.
ALTER TABLE executions ADD COLUMN IF NOT EXISTS traceparent text;
