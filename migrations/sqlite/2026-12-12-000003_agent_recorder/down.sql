ALTER TABLE agents DROP COLUMN created_by;
