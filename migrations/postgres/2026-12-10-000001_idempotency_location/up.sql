-- The Location of a 201, replayed with its answer.
ALTER TABLE idempotency_keys ADD COLUMN response_location TEXT;
