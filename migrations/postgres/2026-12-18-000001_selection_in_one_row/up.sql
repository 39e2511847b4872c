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

-- What the array names is checked once a statement, as the rows' numbers
-- are: a look-up in the contributions' key a number, which takes as long
-- as the selection is long, not as the table; nothing named can go away
-- (contributions are never deleted nor truncated).
CREATE FUNCTION distribution_selections_exist() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows n, unnest(n.contribution_seqs) x(seq)
               WHERE NOT EXISTS (SELECT 1 FROM contributions c WHERE c.seq = x.seq)) THEN
        RAISE EXCEPTION 'a run''s selection names a run and contributions that exist'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER distribution_selections_exist AFTER INSERT ON distribution_selections
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION distribution_selections_exist();
