DROP TABLE events;
ALTER TABLE transactions DROP COLUMN recorded_by;
