-- What the selection's insert pays for on PostgreSQL (run once by
-- benches/sql/distribution_floor.sh --postgres after the floor): reading
-- the rows, writing them into tables of the same two columns with no
-- index, an index on the run, the primary key, and the existence check's
-- join over them. Everything is dropped afterwards.
\timing on
CREATE TEMP VIEW selection AS SELECT d.id AS distribution_id, c.id AS contribution_id
FROM contributions c
JOIN distributions d ON d.project_id = c.project_id AND d.currency = c.currency
WHERE c.project_id = '00000000-0000-7000-8000-000000000001' AND c.status = 'approved'
  AND c.date >= '2026-03-01' AND c.date <= '2026-03-31' AND c.value IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM contributions r WHERE r.supersedes_id = c.id
                  AND r.project_id = c.project_id AND r.status = 'approved')
  AND d.id = 'd0000000-0000-7000-8000-000000000001';
\echo reading the rows
SELECT count(*) FROM selection;
\echo no index
CREATE TABLE costs_heap (distribution_id TEXT NOT NULL, contribution_id TEXT NOT NULL);
INSERT INTO costs_heap SELECT * FROM selection;
\echo an index on the run
CREATE TABLE costs_run (distribution_id TEXT NOT NULL, contribution_id TEXT NOT NULL);
CREATE INDEX ON costs_run (distribution_id);
INSERT INTO costs_run SELECT * FROM selection ORDER BY contribution_id;
\echo the primary key
CREATE TABLE costs_key (distribution_id TEXT NOT NULL, contribution_id TEXT NOT NULL,
                        PRIMARY KEY (distribution_id, contribution_id));
INSERT INTO costs_key SELECT * FROM selection ORDER BY contribution_id;
\echo the join of the existence check
SELECT 1 FROM costs_heap n LEFT JOIN distributions d ON d.id = n.distribution_id
LEFT JOIN contributions c ON c.id = n.contribution_id WHERE d.id IS NULL OR c.id IS NULL LIMIT 1;
SELECT pg_size_pretty(pg_total_relation_size('costs_key')) AS table_and_key;
DROP TABLE costs_heap, costs_run, costs_key;
