DROP TABLE distribution_selected;
DROP FUNCTION distribution_selected_exist();
DROP TABLE distribution_selections;
DROP INDEX contributions_counted;
CREATE INDEX contributions_counted
    ON contributions (project_id, status, date, currency) INCLUDE (agent_id, kind, value, id);
CREATE OR REPLACE FUNCTION contributions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'contributions are never deleted' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.status <> 'pending' OR NEW.status = 'pending'
        OR (NEW.id, NEW.project_id, NEW.agent_id, NEW.kind, NEW.date, NEW.quantity, NEW.unit, NEW.value,
            NEW.rate_id, NEW.currency, NEW.licence, NEW.supersedes_id, NEW.description, NEW.skill, NEW.equipment,
            NEW.recorded_by, NEW.recorded_at, NEW.dataset_title, NEW.dataset_uri, NEW.dataset_size_bytes,
            NEW.dataset_checksum)
        IS DISTINCT FROM (OLD.id, OLD.project_id, OLD.agent_id, OLD.kind, OLD.date, OLD.quantity, OLD.unit,
            OLD.value, OLD.rate_id, OLD.currency, OLD.licence, OLD.supersedes_id, OLD.description, OLD.skill,
            OLD.equipment, OLD.recorded_by, OLD.recorded_at, OLD.dataset_title, OLD.dataset_uri,
            OLD.dataset_size_bytes, OLD.dataset_checksum) THEN
        RAISE EXCEPTION 'contributions are never edited: record a correction'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
ALTER TABLE contributions DROP COLUMN seq;
