-- Contributions of time, equipment and data, their valuation rates and reviews.

ALTER TABLE projects ADD COLUMN licence_policy TEXT NOT NULL DEFAULT 'any'
    CHECK (licence_policy IN ('any', 'open'));
ALTER TABLE projects ADD COLUMN allow_unvalued INTEGER NOT NULL DEFAULT 0
    CHECK (allow_unvalued IN (0, 1));
ALTER TABLE projects ADD COLUMN approvals_required INTEGER NOT NULL DEFAULT 1
    CHECK (approvals_required BETWEEN 1 AND 10);

-- Effective-dated valuation rates. A scope left empty ('') applies to all.
CREATE TABLE rates (
    id TEXT PRIMARY KEY CHECK (length(id) = 36),
    project_id TEXT NOT NULL REFERENCES projects (id),
    kind TEXT NOT NULL CHECK (kind IN ('time', 'equipment', 'data')),
    skill TEXT NOT NULL DEFAULT '',
    equipment TEXT NOT NULL DEFAULT '',
    agent_id TEXT NOT NULL DEFAULT '',
    per TEXT NOT NULL CHECK (per IN ('hour', 'day', 'dataset')),
    effective_from DATE NOT NULL,
    rate BIGINT NOT NULL CHECK (rate > 0),
    currency TEXT NOT NULL REFERENCES units (code),
    method TEXT NOT NULL CHECK (length(method) BETWEEN 1 AND 200),
    source TEXT NOT NULL CHECK (length(source) BETWEEN 1 AND 500),
    created_by TEXT NOT NULL REFERENCES agents (id),
    created_at TIMESTAMP NOT NULL,
    -- One rate per scope and start date: a change is a new row from its date.
    UNIQUE (project_id, kind, skill, equipment, agent_id, per, effective_from)
);
CREATE TRIGGER rates_are_immutable BEFORE UPDATE OR DELETE ON rates
FOR EACH ROW EXECUTE FUNCTION refuse_change('rates are never edited or deleted: add a rate from a later date');

CREATE TABLE contributions (
    id TEXT PRIMARY KEY CHECK (length(id) = 36),
    project_id TEXT NOT NULL REFERENCES projects (id),
    agent_id TEXT NOT NULL REFERENCES agents (id),
    kind TEXT NOT NULL CHECK (kind IN ('time', 'equipment', 'data')),
    date DATE NOT NULL,
    -- In minor units of the quantity's unit (hundredths of an hour or day).
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    unit TEXT NOT NULL CHECK (unit IN ('hour', 'day', 'dataset')),
    description TEXT NOT NULL,
    skill TEXT,
    equipment TEXT,
    dataset_title TEXT,
    dataset_uri TEXT,
    dataset_size_bytes BIGINT CHECK (dataset_size_bytes IS NULL OR dataset_size_bytes >= 0),
    dataset_checksum TEXT,
    licence TEXT,
    -- The valuation, computed once at recording from the rate in force.
    rate_id TEXT REFERENCES rates (id),
    value BIGINT CHECK (value IS NULL OR value >= 0),
    currency TEXT REFERENCES units (code),
    supersedes_id TEXT REFERENCES contributions (id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    recorded_by TEXT NOT NULL REFERENCES agents (id),
    recorded_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    CHECK ((rate_id IS NULL) = (value IS NULL) AND (value IS NULL) = (currency IS NULL)),
    CHECK (kind <> 'equipment' OR equipment IS NOT NULL),
    CHECK (kind <> 'data' OR (dataset_title IS NOT NULL AND licence IS NOT NULL AND unit = 'dataset'))
);
CREATE INDEX contributions_by_project_date ON contributions (project_id, date);
CREATE INDEX contributions_by_agent ON contributions (agent_id, project_id);
-- Only a pending contribution's status moves, once, to a decision.
CREATE FUNCTION contributions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER contributions_guard BEFORE UPDATE OR DELETE ON contributions
FOR EACH ROW EXECUTE FUNCTION contributions_guard();

CREATE TABLE reviews (
    contribution_id TEXT NOT NULL REFERENCES contributions (id),
    reviewer_id TEXT NOT NULL REFERENCES agents (id),
    decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    reason TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (contribution_id, reviewer_id)
);
CREATE TRIGGER reviews_are_immutable BEFORE UPDATE OR DELETE ON reviews
FOR EACH ROW EXECUTE FUNCTION refuse_change('reviews are never edited or deleted');
