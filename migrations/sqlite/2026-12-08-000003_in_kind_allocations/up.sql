-- In-kind counted once (issue #18, item 4).
--
-- A contribution's value counts toward at most one grant's match: it is
-- allocated to a grant once (the primary key), never moved or undone, and
-- never dated in a closed period. A grant report lists only what is
-- allocated to that grant.

CREATE TABLE in_kind_allocations (
    contribution_id TEXT PRIMARY KEY NOT NULL REFERENCES contributions (id),
    grant_id TEXT NOT NULL REFERENCES grants (id),
    project_id TEXT NOT NULL REFERENCES projects (id),
    allocated_by TEXT NOT NULL REFERENCES agents (id),
    allocated_at TIMESTAMP NOT NULL
);
CREATE INDEX in_kind_allocations_by_grant ON in_kind_allocations (grant_id, contribution_id);
CREATE TRIGGER in_kind_allocations_are_kept BEFORE DELETE ON in_kind_allocations
BEGIN SELECT RAISE(ABORT, 'an allocation of in-kind value is never undone'); END;
CREATE TRIGGER in_kind_allocations_are_immutable BEFORE UPDATE ON in_kind_allocations
BEGIN SELECT RAISE(ABORT, 'an allocation of in-kind value is never moved'); END;
CREATE TRIGGER in_kind_allocations_within_the_project BEFORE INSERT ON in_kind_allocations
WHEN NOT EXISTS (SELECT 1 FROM contributions c JOIN grants g ON g.project_id = c.project_id
    WHERE c.id = NEW.contribution_id AND g.id = NEW.grant_id AND c.project_id = NEW.project_id)
BEGIN SELECT RAISE(ABORT, 'a contribution is allocated to a grant of its own project'); END;
CREATE TRIGGER in_kind_allocations_stay_out_of_closed_periods BEFORE INSERT ON in_kind_allocations
WHEN (SELECT c.date FROM contributions c WHERE c.id = NEW.contribution_id)
    <= (SELECT p.closed_through FROM projects p WHERE p.id = NEW.project_id)
BEGIN SELECT RAISE(ABORT, 'the period is closed'); END;
