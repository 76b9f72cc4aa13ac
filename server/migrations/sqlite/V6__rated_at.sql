-- When a ticket was rated: kept when it is reopened later, so the rating
-- still counts in the satisfaction figures of its period.
ALTER TABLE tickets ADD COLUMN rated_at INTEGER;
UPDATE tickets SET rated_at = COALESCE(resolved_at, updated_at) WHERE rating IS NOT NULL;
