-- Which contributions each distribution run counted, written by one
-- INSERT ... SELECT when the draft is recorded (runs drafted before kept
-- the project revision they read, or their contributions' ids as JSON).
CREATE TABLE distribution_contributions (
    distribution_id TEXT NOT NULL REFERENCES distributions (id),
    contribution_id TEXT NOT NULL REFERENCES contributions (id),
    PRIMARY KEY (distribution_id, contribution_id)
);
-- A run's selection is kept as recorded.
CREATE FUNCTION distribution_contributions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a run''s selection is never changed' USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER distribution_contributions_guard BEFORE UPDATE OR DELETE ON distribution_contributions
FOR EACH ROW EXECUTE FUNCTION distribution_contributions_guard();
-- A contribution replaced by an approved correction is left out of a
-- run: found by this index, not by reading every contribution.
CREATE INDEX contributions_by_supersedes ON contributions (supersedes_id);
