-- What the selection's insert pays for on SQLite (run once by
-- benches/sql/distribution_floor.sh after the floor): the same statement
-- with foreign keys off, rolled back.
PRAGMA foreign_keys = OFF;
PRAGMA synchronous = FULL;
.timer on
BEGIN;
INSERT INTO distribution_selected (selection_seq, contribution_seq)
SELECT selection_seq, contribution_seq FROM counted ORDER BY contribution_seq;
ROLLBACK;
