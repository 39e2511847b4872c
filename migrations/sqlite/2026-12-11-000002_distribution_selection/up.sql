-- Which contributions each distribution run counted, written by one
-- INSERT ... SELECT when the draft is recorded (runs drafted before kept
-- the project revision they read, or their contributions' ids as JSON).
CREATE TABLE distribution_contributions (
    distribution_id TEXT NOT NULL REFERENCES distributions (id),
    contribution_id TEXT NOT NULL REFERENCES contributions (id),
    PRIMARY KEY (distribution_id, contribution_id)
) WITHOUT ROWID;
-- A run's selection is kept as recorded.
CREATE TRIGGER distribution_contributions_are_kept BEFORE DELETE ON distribution_contributions
BEGIN SELECT RAISE(ABORT, 'a run''s selection is never changed'); END;
CREATE TRIGGER distribution_contributions_are_immutable BEFORE UPDATE ON distribution_contributions
BEGIN SELECT RAISE(ABORT, 'a run''s selection is never changed'); END;
-- A contribution replaced by an approved correction is left out of a
-- run: found by this index, not by reading every contribution.
CREATE INDEX contributions_by_supersedes ON contributions (supersedes_id);
