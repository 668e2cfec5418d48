-- Executions fired by a schedule before the read model took `schedule_id` from their
-- metadata at creation: from their metadata now, so that `?schedule_id=` finds them.
UPDATE executions SET schedule_id = metadata->>'schedule_id'
    WHERE schedule_id IS NULL AND metadata ? 'schedule_id';
