-- What the selection's insert pays for on SQLite (run once by
-- benches/sql/distribution_floor.sh after the floor): the same statement
-- with foreign keys off, rolled back.
PRAGMA foreign_keys = OFF;
PRAGMA synchronous = FULL;
.timer on
BEGIN;
INSERT INTO distribution_contributions (distribution_id, contribution_id)
SELECT d.id, c.id FROM contributions c
JOIN distributions d ON d.project_id = c.project_id AND d.currency = c.currency
WHERE c.project_id = '00000000-0000-7000-8000-000000000001' AND c.status = 'approved'
  AND c.date >= '2026-03-01' AND c.date <= '2026-03-31' AND c.value IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM contributions r WHERE r.supersedes_id = c.id
                  AND r.project_id = c.project_id AND r.status = 'approved')
  AND d.id = 'd0000000-0000-7000-8000-000000000001' ORDER BY c.id;
ROLLBACK;
