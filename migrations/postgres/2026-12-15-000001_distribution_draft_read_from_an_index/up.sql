-- A distribution draft reads the period's approved contributions twice
-- (their sums, then the run's selection): from an index that holds every
-- column those statements read.
CREATE INDEX contributions_counted
    ON contributions (project_id, status, date, currency) INCLUDE (agent_id, kind, value, id);
-- Corrections are few: their index holds only them.
DROP INDEX contributions_by_supersedes;
CREATE INDEX contributions_corrections
    ON contributions (supersedes_id, project_id) WHERE supersedes_id IS NOT NULL;

-- A run's selection (a row per counted contribution, a million for a large
-- period) named its run and its contributions by foreign keys, checked once
-- a row: each check a lookup that also locked the contribution's row (a
-- write to every one of them). They are checked once a statement instead,
-- by one join of the statement's rows; nothing they name can go away, as the
-- keys guaranteed: contributions and runs are never deleted (their guards)
-- nor truncated (below).
ALTER TABLE distribution_contributions
    DROP CONSTRAINT distribution_contributions_distribution_id_fkey,
    DROP CONSTRAINT distribution_contributions_contribution_id_fkey;

CREATE FUNCTION distribution_contributions_exist() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows n
               LEFT JOIN distributions d ON d.id = n.distribution_id
               LEFT JOIN contributions c ON c.id = n.contribution_id
               WHERE d.id IS NULL OR c.id IS NULL) THEN
        RAISE EXCEPTION 'a run''s selection names a run and contributions that exist'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER distribution_contributions_exist AFTER INSERT ON distribution_contributions
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION distribution_contributions_exist();

CREATE TRIGGER contributions_are_never_truncated BEFORE TRUNCATE ON contributions
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('contributions are never deleted');
CREATE TRIGGER distributions_are_never_truncated BEFORE TRUNCATE ON distributions
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('distribution runs are never deleted');
-- Its row guard refused a selection's deletion, not its truncation.
CREATE TRIGGER distribution_contributions_are_never_truncated BEFORE TRUNCATE ON distribution_contributions
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('a run''s selection is never changed');
