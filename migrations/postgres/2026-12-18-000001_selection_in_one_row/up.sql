-- A run's selection in one row: the numbers of the contributions it
-- counted, in ascending order, as an array beside the selection's number,
-- written by the draft's one `INSERT ... SELECT` (array_agg). A million
-- contributions are 8 MB in one value instead of a million rows of the
-- table and of its key: writing them took about 2.4 s of a draft over a
-- million contributions, the array about 0.3 s (docs/benchmarks.md, "A
-- selection in one row"). Stored out of line and not compressed: numbers
-- in order compress little, and compressing 8 MB took longer than writing
-- it.
--
-- Selections recorded before keep their rows in distribution_selected
-- (this column is null for them); both are read.
ALTER TABLE distribution_selections ADD COLUMN contribution_seqs BIGINT[];
ALTER TABLE distribution_selections ALTER COLUMN contribution_seqs SET STORAGE EXTERNAL;

-- What the array names is not checked as it is written: the numbers come
-- from contributions in the same statement, and a look-up a number (about
-- a second for a million) would be half the draft's time. Verification
-- checks every run's selection instead, on both backends and more closely
-- than a key would: each number is an approved contribution of the run's
-- project, currency and period, named once (`selection_mismatch`). Rows of
-- distribution_selected keep their check once a statement.
