DROP INDEX contributions_corrections;
CREATE INDEX contributions_by_supersedes ON contributions (supersedes_id);
DROP INDEX contributions_counted;
