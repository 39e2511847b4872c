-- The two statements a distribution draft runs over the whole period, as
-- src/db/contributions.rs writes them (approved_sums and record_selection,
-- COUNTED inlined with the seeded project and period), with the service's
-- pragmas (PostgreSQL: benches/sql/distribution_floor.sh --postgres strips
-- them and times with psql); the selection is rolled back so that the run
-- can be repeated; last, the same rows into a table with no key or check.
PRAGMA foreign_keys = ON;
PRAGMA synchronous = FULL;
PRAGMA threads = 2; -- the service sets the number of cores: two here
.timer on
SELECT count(*) AS sums FROM (
  SELECT c.agent_id, c.kind, c.currency,
         CAST(SUM(c.value / 4294967296) AS BIGINT), CAST(SUM(c.value % 4294967296) AS BIGINT)
  FROM contributions c
  WHERE c.project_id = '00000000-0000-7000-8000-000000000001' AND c.status = 'approved'
    AND c.date >= '2026-03-01' AND c.date <= '2026-03-31' AND c.value IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM contributions r WHERE r.supersedes_id = c.id
                    AND r.project_id = c.project_id AND r.status = 'approved')
  GROUP BY c.agent_id, c.kind, c.currency) AS sums_by_agent;
BEGIN;
INSERT INTO distribution_selected (selection_seq, contribution_seq)
SELECT s.seq, c.seq FROM contributions c
JOIN distributions d ON d.project_id = c.project_id AND d.currency = c.currency
JOIN distribution_selections s ON s.distribution_id = d.id
WHERE c.project_id = '00000000-0000-7000-8000-000000000001' AND c.status = 'approved'
  AND c.date >= '2026-03-01' AND c.date <= '2026-03-31' AND c.value IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM contributions r WHERE r.supersedes_id = c.id
                  AND r.project_id = c.project_id AND r.status = 'approved')
  AND d.id = 'd0000000-0000-7000-8000-000000000001' ORDER BY c.seq;
ROLLBACK;
-- The floor of writing the selection at all: its million rows into a table
-- of the same two columns with no key, no index and no check (rolled back).
BEGIN;
CREATE TABLE selection_floor (selection_seq BIGINT NOT NULL, contribution_seq BIGINT NOT NULL);
INSERT INTO selection_floor SELECT selection_seq, contribution_seq FROM counted;
ROLLBACK;
