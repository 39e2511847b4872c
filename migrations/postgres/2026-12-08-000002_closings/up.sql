-- Closed periods (issue #18, item 1).
--
-- An owner or treasurer closes the books through a date: nothing dated on
-- or before it is posted, recorded or reviewed into value any more, so a
-- report of a closed period never changes. A closing only moves forward;
-- closings are kept, never edited or deleted. `projects.closed_through` is
-- the latest closing's date, kept by the database itself, and the
-- database refuses what the service would refuse.

ALTER TABLE projects ADD COLUMN closed_through DATE;

CREATE TABLE closings (
    id TEXT PRIMARY KEY CHECK (length(id) = 36),
    project_id TEXT NOT NULL REFERENCES projects (id),
    through DATE NOT NULL,
    note TEXT NOT NULL CHECK (length(note) <= 1000),
    created_by TEXT NOT NULL REFERENCES agents (id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (project_id, through)
);
CREATE TRIGGER closings_are_immutable BEFORE UPDATE OR DELETE ON closings
FOR EACH ROW EXECUTE FUNCTION refuse_change('closings are never edited or deleted');

CREATE FUNCTION closings_close_the_project() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Moves forward only: the projects trigger below refuses the rest.
    UPDATE projects SET closed_through = NEW.through
    WHERE id = NEW.project_id AND (closed_through IS NULL OR closed_through < NEW.through);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'a closing only moves forward' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER closings_close_the_project AFTER INSERT ON closings
FOR EACH ROW EXECUTE FUNCTION closings_close_the_project();

CREATE FUNCTION projects_stay_closed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.closed_through IS NOT NULL
        AND (NEW.closed_through IS NULL OR NEW.closed_through < OLD.closed_through) THEN
        RAISE EXCEPTION 'a closed period is never reopened' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER projects_stay_closed BEFORE UPDATE OF closed_through ON projects
FOR EACH ROW EXECUTE FUNCTION projects_stay_closed();

-- Refuses a row dated (`TG_ARGV[0]`: its date column) on or before its
-- project's closing; on UPDATE only when the status changes.
CREATE FUNCTION stay_out_of_closed_periods() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    dated DATE;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF (to_jsonb(NEW) ->> 'status') IS NOT DISTINCT FROM (to_jsonb(OLD) ->> 'status') THEN
            RETURN NEW;
        END IF;
    END IF;
    dated := (to_jsonb(NEW) ->> TG_ARGV[0])::date;
    IF dated <= (SELECT p.closed_through FROM projects p WHERE p.id = NEW.project_id) THEN
        RAISE EXCEPTION 'the period is closed' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER transactions_stay_out_of_closed_periods BEFORE INSERT ON transactions
FOR EACH ROW EXECUTE FUNCTION stay_out_of_closed_periods('effective_date');
CREATE TRIGGER contributions_stay_out_of_closed_periods BEFORE INSERT OR UPDATE OF status ON contributions
FOR EACH ROW EXECUTE FUNCTION stay_out_of_closed_periods('date');
