-- A counter per project of the changes to what long computations read
-- outside the writer (a distribution draft, a CSV import): contributions
-- decided or corrected, rates, memberships, the project's settings and its
-- members' emails. Such a computation notes the revision in its read
-- snapshot and writes its result only if the revision is still the same.
-- Triggers keep it, so no path that changes these can forget to.

CREATE TABLE project_revisions (
    project_id TEXT PRIMARY KEY REFERENCES projects (id),
    revision BIGINT NOT NULL DEFAULT 0 CHECK (revision >= 0)
);
INSERT INTO project_revisions (project_id, revision) SELECT id, 0 FROM projects;

CREATE FUNCTION project_revision_start() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO project_revisions (project_id, revision) VALUES (NEW.id, 0);
    RETURN NULL;
END $$;
CREATE TRIGGER projects_get_a_revision AFTER INSERT ON projects
FOR EACH ROW EXECUTE FUNCTION project_revision_start();

-- Counts one change to the project named by the trigger's row (its
-- `project_id`, or its `id` on projects).
CREATE FUNCTION project_revise() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed TEXT[];
BEGIN
    IF TG_TABLE_NAME = 'projects' THEN
        changed := ARRAY[NEW.id];
    ELSIF TG_TABLE_NAME = 'agents' THEN
        changed := ARRAY(SELECT project_id FROM memberships WHERE agent_id = NEW.id);
    ELSIF TG_OP = 'DELETE' THEN
        changed := ARRAY[OLD.project_id];
    ELSIF TG_OP = 'UPDATE' THEN
        changed := ARRAY[OLD.project_id, NEW.project_id];
    ELSE
        changed := ARRAY[NEW.project_id];
    END IF;
    UPDATE project_revisions SET revision = revision + 1 WHERE project_id = ANY (changed);
    RETURN NULL;
END $$;

CREATE TRIGGER project_settings_revise
AFTER UPDATE OF licence_policy, allow_unvalued, approvals_required, distribution_approvals_required ON projects
FOR EACH ROW
WHEN ((OLD.licence_policy, OLD.allow_unvalued, OLD.approvals_required, OLD.distribution_approvals_required)
    IS DISTINCT FROM (NEW.licence_policy, NEW.allow_unvalued, NEW.approvals_required, NEW.distribution_approvals_required))
EXECUTE FUNCTION project_revise();
CREATE TRIGGER contribution_decisions_revise AFTER UPDATE OF status ON contributions
FOR EACH ROW EXECUTE FUNCTION project_revise();
CREATE TRIGGER contribution_corrections_revise AFTER INSERT ON contributions
FOR EACH ROW WHEN (NEW.supersedes_id IS NOT NULL OR NEW.status <> 'pending')
EXECUTE FUNCTION project_revise();
CREATE TRIGGER rates_revise AFTER INSERT ON rates
FOR EACH ROW EXECUTE FUNCTION project_revise();
CREATE TRIGGER memberships_revise AFTER INSERT OR UPDATE OR DELETE ON memberships
FOR EACH ROW EXECUTE FUNCTION project_revise();
CREATE TRIGGER agent_emails_revise AFTER UPDATE OF email ON agents
FOR EACH ROW WHEN (NEW.email IS DISTINCT FROM OLD.email)
EXECUTE FUNCTION project_revise();

CREATE FUNCTION project_revisions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'project revisions are never deleted' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.project_id IS DISTINCT FROM OLD.project_id OR NEW.revision <> OLD.revision + 1 THEN
        RAISE EXCEPTION 'a project revision only counts up, one change at a time'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER project_revisions_guard BEFORE UPDATE OR DELETE ON project_revisions
FOR EACH ROW EXECUTE FUNCTION project_revisions_guard();
