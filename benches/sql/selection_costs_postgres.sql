-- What the selection's insert pays for on PostgreSQL (run once by
-- benches/sql/distribution_floor.sh --postgres after the floor): reading
-- the rows, writing them into tables of the same two columns with no
-- index, an index on the run, the primary key, and the existence check's
-- join over them; then the array the draft writes now (below). Everything
-- is dropped afterwards.
\timing on
\echo reading the rows
SELECT count(*) FROM counted;
\echo no index
CREATE TABLE costs_heap (selection_seq BIGINT NOT NULL, contribution_seq BIGINT NOT NULL);
INSERT INTO costs_heap SELECT * FROM counted;
\echo an index on the run
CREATE TABLE costs_run (selection_seq BIGINT NOT NULL, contribution_seq BIGINT NOT NULL);
CREATE INDEX ON costs_run (selection_seq);
INSERT INTO costs_run SELECT * FROM counted ORDER BY contribution_seq;
\echo the primary key
CREATE TABLE costs_key (selection_seq BIGINT NOT NULL, contribution_seq BIGINT NOT NULL,
                        PRIMARY KEY (selection_seq, contribution_seq));
INSERT INTO costs_key SELECT * FROM counted ORDER BY contribution_seq;
\echo the join of the existence check
SELECT 1 FROM costs_heap n LEFT JOIN distribution_selections s ON s.seq = n.selection_seq
LEFT JOIN contributions c ON c.seq = n.contribution_seq WHERE s.seq IS NULL OR c.seq IS NULL LIMIT 1;
SELECT pg_size_pretty(pg_total_relation_size('costs_key')) AS table_and_key;
DROP TABLE costs_heap, costs_run, costs_key;
-- Since the migration selection_in_one_row the draft writes the numbers as
-- one array in the selection's row: as it does (out of line, uncompressed),
-- then compressed as a column is by default (pglz), then its existence
-- check (a look-up in the contributions' key a number).
\echo one array, out of line and uncompressed
CREATE TABLE costs_array (selection_seq BIGINT NOT NULL, contribution_seqs BIGINT[]);
ALTER TABLE costs_array ALTER COLUMN contribution_seqs SET STORAGE EXTERNAL;
INSERT INTO costs_array SELECT 1, array_agg(contribution_seq ORDER BY contribution_seq) FROM counted;
\echo one array, compressed (pglz)
CREATE TABLE costs_array_pglz (selection_seq BIGINT NOT NULL, contribution_seqs BIGINT[]);
INSERT INTO costs_array_pglz SELECT 1, array_agg(contribution_seq ORDER BY contribution_seq) FROM counted;
\echo the array's existence check
SELECT EXISTS (SELECT 1 FROM costs_array n, unnest(n.contribution_seqs) x(seq)
               WHERE NOT EXISTS (SELECT 1 FROM contributions c WHERE c.seq = x.seq));
SELECT pg_size_pretty(pg_total_relation_size('costs_array')) AS array_out_of_line,
       pg_size_pretty(pg_total_relation_size('costs_array_pglz')) AS array_pglz;
DROP TABLE costs_array, costs_array_pglz;
