-- A distribution draft records its selection, a row per counted
-- contribution (a million for a large period). Rows naming a run and a
-- contribution by 36-character ids were about 100 bytes each with their
-- key; named by integers they are about a third of that, and the draft
-- writes, sorts and checks a fraction of the data (docs/benchmarks.md, "A
-- selection named by numbers").
--
-- A contribution's number is `seq`, given by the database when it is
-- recorded and never changed (the guard below).
ALTER TABLE contributions ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY;
ALTER TABLE contributions ADD CONSTRAINT contributions_seq_key UNIQUE (seq);
CREATE OR REPLACE FUNCTION contributions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'contributions are never deleted' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.status <> 'pending' OR NEW.status = 'pending'
        OR (NEW.seq, NEW.id, NEW.project_id, NEW.agent_id, NEW.kind, NEW.date, NEW.quantity, NEW.unit,
            NEW.value, NEW.rate_id, NEW.currency, NEW.licence, NEW.supersedes_id, NEW.description, NEW.skill,
            NEW.equipment, NEW.recorded_by, NEW.recorded_at, NEW.dataset_title, NEW.dataset_uri,
            NEW.dataset_size_bytes, NEW.dataset_checksum)
        IS DISTINCT FROM (OLD.seq, OLD.id, OLD.project_id, OLD.agent_id, OLD.kind, OLD.date, OLD.quantity,
            OLD.unit, OLD.value, OLD.rate_id, OLD.currency, OLD.licence, OLD.supersedes_id, OLD.description,
            OLD.skill, OLD.equipment, OLD.recorded_by, OLD.recorded_at, OLD.dataset_title, OLD.dataset_uri,
            OLD.dataset_size_bytes, OLD.dataset_checksum) THEN
        RAISE EXCEPTION 'contributions are never edited: record a correction'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
-- The draft's index holds the number too, so that the selection is still
-- read from the index alone.
DROP INDEX contributions_counted;
CREATE INDEX contributions_counted
    ON contributions (project_id, status, date, currency) INCLUDE (agent_id, kind, value, id, seq);

-- A run's selection from now on: a number for the run's selection (one
-- row a run), then a row per counted contribution naming both by number.
-- Runs drafted before keep theirs in distribution_contributions.
CREATE TABLE distribution_selections (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    distribution_id TEXT NOT NULL UNIQUE REFERENCES distributions (id)
);
CREATE TABLE distribution_selected (
    selection_seq BIGINT NOT NULL,
    contribution_seq BIGINT NOT NULL,
    PRIMARY KEY (selection_seq, contribution_seq)
);
-- What the rows name is checked once a statement, by one join of the
-- statement's rows, rather than by foreign keys checked (and the
-- contribution's row locked) once a row; nothing named can go away:
-- contributions are never deleted nor truncated, and neither are selections.
CREATE FUNCTION distribution_selected_exist() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows n
               LEFT JOIN distribution_selections s ON s.seq = n.selection_seq
               LEFT JOIN contributions c ON c.seq = n.contribution_seq
               WHERE s.seq IS NULL OR c.seq IS NULL) THEN
        RAISE EXCEPTION 'a run''s selection names a run and contributions that exist'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER distribution_selected_exist AFTER INSERT ON distribution_selected
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION distribution_selected_exist();
CREATE TRIGGER distribution_selections_guard BEFORE UPDATE OR DELETE ON distribution_selections
FOR EACH ROW EXECUTE FUNCTION refuse_change('a run''s selection is never changed');
CREATE TRIGGER distribution_selected_guard BEFORE UPDATE OR DELETE ON distribution_selected
FOR EACH ROW EXECUTE FUNCTION refuse_change('a run''s selection is never changed');
CREATE TRIGGER distribution_selections_are_never_truncated BEFORE TRUNCATE ON distribution_selections
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('a run''s selection is never changed');
CREATE TRIGGER distribution_selected_are_never_truncated BEFORE TRUNCATE ON distribution_selected
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('a run''s selection is never changed');
