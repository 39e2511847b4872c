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
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    project_id TEXT NOT NULL REFERENCES projects (id),
    through DATE NOT NULL,
    note TEXT NOT NULL CHECK (length(note) <= 1000),
    created_by TEXT NOT NULL REFERENCES agents (id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (project_id, through)
);
CREATE TRIGGER closings_move_forward BEFORE INSERT ON closings
WHEN NEW.through <= (SELECT p.closed_through FROM projects p WHERE p.id = NEW.project_id)
BEGIN SELECT RAISE(ABORT, 'a closing only moves forward'); END;
CREATE TRIGGER closings_close_the_project AFTER INSERT ON closings
BEGIN UPDATE projects SET closed_through = NEW.through WHERE id = NEW.project_id; END;
CREATE TRIGGER closings_are_immutable BEFORE UPDATE ON closings
BEGIN SELECT RAISE(ABORT, 'closings are never edited'); END;
CREATE TRIGGER closings_are_kept BEFORE DELETE ON closings
BEGIN SELECT RAISE(ABORT, 'closings are never deleted'); END;
CREATE TRIGGER projects_stay_closed BEFORE UPDATE OF closed_through ON projects
WHEN OLD.closed_through IS NOT NULL
    AND (NEW.closed_through IS NULL OR NEW.closed_through < OLD.closed_through)
BEGIN SELECT RAISE(ABORT, 'a closed period is never reopened'); END;

CREATE TRIGGER transactions_stay_out_of_closed_periods BEFORE INSERT ON transactions
WHEN NEW.effective_date <= (SELECT p.closed_through FROM projects p WHERE p.id = NEW.project_id)
BEGIN SELECT RAISE(ABORT, 'the period is closed'); END;
CREATE TRIGGER contributions_stay_out_of_closed_periods BEFORE INSERT ON contributions
WHEN NEW.date <= (SELECT p.closed_through FROM projects p WHERE p.id = NEW.project_id)
BEGIN SELECT RAISE(ABORT, 'the period is closed'); END;
CREATE TRIGGER contributions_are_not_decided_in_closed_periods BEFORE UPDATE OF status ON contributions
WHEN NEW.status <> OLD.status
    AND NEW.date <= (SELECT p.closed_through FROM projects p WHERE p.id = NEW.project_id)
BEGIN SELECT RAISE(ABORT, 'the period is closed'); END;
