-- A counter per project of the changes to what long computations read
-- outside the writer (a distribution draft, a CSV import): contributions
-- decided or corrected, rates, memberships, the project's settings and its
-- members' emails. Such a computation notes the revision in its read
-- snapshot and writes its result only if the revision is still the same.
-- Triggers keep it, so no path that changes these can forget to.

CREATE TABLE project_revisions (
    project_id TEXT PRIMARY KEY NOT NULL REFERENCES projects (id),
    revision BIGINT NOT NULL DEFAULT 0 CHECK (revision >= 0)
);
INSERT INTO project_revisions (project_id, revision) SELECT id, 0 FROM projects;

CREATE TRIGGER projects_get_a_revision AFTER INSERT ON projects
BEGIN INSERT INTO project_revisions (project_id, revision) VALUES (NEW.id, 0); END;

CREATE TRIGGER project_settings_revise
AFTER UPDATE OF licence_policy, allow_unvalued, approvals_required, distribution_approvals_required ON projects
BEGIN UPDATE project_revisions SET revision = revision + 1 WHERE project_id = NEW.id; END;

CREATE TRIGGER contribution_decisions_revise AFTER UPDATE OF status ON contributions
BEGIN UPDATE project_revisions SET revision = revision + 1 WHERE project_id = NEW.project_id; END;

CREATE TRIGGER contribution_corrections_revise AFTER INSERT ON contributions
WHEN NEW.supersedes_id IS NOT NULL OR NEW.status <> 'pending'
BEGIN UPDATE project_revisions SET revision = revision + 1 WHERE project_id = NEW.project_id; END;

CREATE TRIGGER rates_revise AFTER INSERT ON rates
BEGIN UPDATE project_revisions SET revision = revision + 1 WHERE project_id = NEW.project_id; END;

CREATE TRIGGER memberships_added_revise AFTER INSERT ON memberships
BEGIN UPDATE project_revisions SET revision = revision + 1 WHERE project_id = NEW.project_id; END;

CREATE TRIGGER memberships_changed_revise AFTER UPDATE ON memberships
BEGIN UPDATE project_revisions SET revision = revision + 1
    WHERE project_id IN (OLD.project_id, NEW.project_id); END;

CREATE TRIGGER memberships_removed_revise AFTER DELETE ON memberships
BEGIN UPDATE project_revisions SET revision = revision + 1 WHERE project_id = OLD.project_id; END;

CREATE TRIGGER agent_emails_revise AFTER UPDATE OF email ON agents
WHEN NEW.email IS NOT OLD.email
BEGIN UPDATE project_revisions SET revision = revision + 1
    WHERE project_id IN (SELECT project_id FROM memberships WHERE agent_id = NEW.id); END;

CREATE TRIGGER project_revisions_are_kept BEFORE DELETE ON project_revisions
BEGIN SELECT RAISE(ABORT, 'project revisions are never deleted'); END;
CREATE TRIGGER project_revisions_only_grow BEFORE UPDATE ON project_revisions
WHEN NEW.project_id IS NOT OLD.project_id OR NEW.revision <> OLD.revision + 1
BEGIN SELECT RAISE(ABORT, 'a project revision only counts up, one change at a time'); END;
