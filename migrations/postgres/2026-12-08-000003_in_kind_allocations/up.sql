-- In-kind counted once (issue #18, item 4).
--
-- A contribution's value counts toward at most one grant's match: it is
-- allocated to a grant once (the primary key), never moved or undone, and
-- never dated in a closed period. A grant report lists only what is
-- allocated to that grant.

CREATE TABLE in_kind_allocations (
    contribution_id TEXT PRIMARY KEY REFERENCES contributions (id),
    grant_id TEXT NOT NULL REFERENCES grants (id),
    project_id TEXT NOT NULL REFERENCES projects (id),
    allocated_by TEXT NOT NULL REFERENCES agents (id),
    allocated_at TIMESTAMP NOT NULL
);
CREATE INDEX in_kind_allocations_by_grant ON in_kind_allocations (grant_id, contribution_id);
CREATE TRIGGER in_kind_allocations_are_immutable BEFORE UPDATE OR DELETE ON in_kind_allocations
FOR EACH ROW EXECUTE FUNCTION refuse_change('an allocation of in-kind value is never moved or undone');

CREATE FUNCTION in_kind_allocations_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    dated DATE;
BEGIN
    SELECT c.date INTO dated FROM contributions c JOIN grants g ON g.project_id = c.project_id
    WHERE c.id = NEW.contribution_id AND g.id = NEW.grant_id AND c.project_id = NEW.project_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'a contribution is allocated to a grant of its own project'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF dated <= (SELECT p.closed_through FROM projects p WHERE p.id = NEW.project_id) THEN
        RAISE EXCEPTION 'the period is closed' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER in_kind_allocations_check BEFORE INSERT ON in_kind_allocations
FOR EACH ROW EXECUTE FUNCTION in_kind_allocations_check();
