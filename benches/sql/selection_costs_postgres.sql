-- What the selection's insert pays for on PostgreSQL (run once by
-- benches/sql/distribution_floor.sh --postgres after the floor): reading
-- the rows, writing them into tables of the same two columns with no
-- index, an index on the run, the primary key, and the existence check's
-- join over them. Everything is dropped afterwards.
\timing on
\echo reading the rows
SELECT count(*) FROM counted;
\echo no index
CREATE TABLE costs_heap (distribution_id TEXT NOT NULL, contribution_id TEXT NOT NULL);
INSERT INTO costs_heap SELECT * FROM counted;
\echo an index on the run
CREATE TABLE costs_run (distribution_id TEXT NOT NULL, contribution_id TEXT NOT NULL);
CREATE INDEX ON costs_run (distribution_id);
INSERT INTO costs_run SELECT * FROM counted ORDER BY contribution_id;
\echo the primary key
CREATE TABLE costs_key (distribution_id TEXT NOT NULL, contribution_id TEXT NOT NULL,
                        PRIMARY KEY (distribution_id, contribution_id));
INSERT INTO costs_key SELECT * FROM counted ORDER BY contribution_id;
\echo the join of the existence check
SELECT 1 FROM costs_heap n LEFT JOIN distributions d ON d.id = n.distribution_id
LEFT JOIN contributions c ON c.id = n.contribution_id WHERE d.id IS NULL OR c.id IS NULL LIMIT 1;
SELECT pg_size_pretty(pg_total_relation_size('costs_key')) AS table_and_key;
DROP TABLE costs_heap, costs_run, costs_key;
