-- The trace context of the event that set a timer or held a step's work, so that the
-- timer's firing and the work's release continue the execution's trace.
ALTER TABLE timers ADD COLUMN IF NOT EXISTS traceparent text;
ALTER TABLE work_slots ADD COLUMN IF NOT EXISTS traceparent text;
