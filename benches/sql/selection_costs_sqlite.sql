-- What the selection's insert pays for on SQLite (run once by
-- benches/sql/distribution_floor.sh after the floor): the same statement
-- with foreign keys off, rolled back.
PRAGMA foreign_keys = OFF;
PRAGMA synchronous = FULL;
.timer on
BEGIN;
INSERT INTO distribution_contributions (distribution_id, contribution_id)
SELECT distribution_id, contribution_id FROM counted ORDER BY contribution_id;
ROLLBACK;
