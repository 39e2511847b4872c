ALTER TABLE projects DROP COLUMN contributor_names;
