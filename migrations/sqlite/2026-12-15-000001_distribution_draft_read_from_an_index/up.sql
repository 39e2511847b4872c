-- A distribution draft reads the period's approved contributions twice
-- (their sums, then the run's selection): from an index that holds every
-- column those statements read, in the order they filter by, instead of
-- looking each contribution's row up in the table.
CREATE INDEX contributions_counted
    ON contributions (project_id, status, date, currency, agent_id, kind, value, id);
-- Corrections are few: their index holds only them, so that the draft's
-- lookup of a contribution's correction stays an index search whatever the
-- statistics say (with ANALYZE's figures for an index of every contribution,
-- nearly all of them NULL, SQLite chose to scan the table for each one).
DROP INDEX contributions_by_supersedes;
CREATE INDEX contributions_corrections
    ON contributions (supersedes_id, project_id) WHERE supersedes_id IS NOT NULL;
