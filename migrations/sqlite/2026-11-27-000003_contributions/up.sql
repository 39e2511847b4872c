-- Contributions of time, equipment and data, their valuation rates and reviews.

ALTER TABLE projects ADD COLUMN licence_policy TEXT NOT NULL DEFAULT 'any'
    CHECK (licence_policy IN ('any', 'open'));
ALTER TABLE projects ADD COLUMN allow_unvalued INTEGER NOT NULL DEFAULT 0
    CHECK (allow_unvalued IN (0, 1));
ALTER TABLE projects ADD COLUMN approvals_required INTEGER NOT NULL DEFAULT 1
    CHECK (approvals_required BETWEEN 1 AND 10);

-- Effective-dated valuation rates. A scope left empty ('') applies to all.
CREATE TABLE rates (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
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
CREATE TRIGGER rates_are_immutable BEFORE UPDATE ON rates
BEGIN SELECT RAISE(ABORT, 'rates are never edited: add a rate from a later date'); END;
CREATE TRIGGER rates_are_kept BEFORE DELETE ON rates
BEGIN SELECT RAISE(ABORT, 'rates are never deleted: past values refer to them'); END;

CREATE TABLE contributions (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
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
CREATE TRIGGER contributions_change_only_by_review BEFORE UPDATE ON contributions
WHEN OLD.status <> 'pending' OR NEW.status = 'pending'
    OR NEW.id IS NOT OLD.id OR NEW.project_id IS NOT OLD.project_id OR NEW.agent_id IS NOT OLD.agent_id
    OR NEW.kind IS NOT OLD.kind OR NEW.date IS NOT OLD.date OR NEW.quantity IS NOT OLD.quantity
    OR NEW.unit IS NOT OLD.unit OR NEW.value IS NOT OLD.value OR NEW.rate_id IS NOT OLD.rate_id
    OR NEW.currency IS NOT OLD.currency OR NEW.licence IS NOT OLD.licence
    OR NEW.supersedes_id IS NOT OLD.supersedes_id OR NEW.description IS NOT OLD.description
    OR NEW.skill IS NOT OLD.skill OR NEW.equipment IS NOT OLD.equipment OR NEW.recorded_by IS NOT OLD.recorded_by
    OR NEW.recorded_at IS NOT OLD.recorded_at OR NEW.dataset_title IS NOT OLD.dataset_title
    OR NEW.dataset_uri IS NOT OLD.dataset_uri OR NEW.dataset_size_bytes IS NOT OLD.dataset_size_bytes
    OR NEW.dataset_checksum IS NOT OLD.dataset_checksum
BEGIN SELECT RAISE(ABORT, 'contributions are never edited: record a correction'); END;
CREATE TRIGGER contributions_are_kept BEFORE DELETE ON contributions
BEGIN SELECT RAISE(ABORT, 'contributions are never deleted'); END;

CREATE TABLE reviews (
    contribution_id TEXT NOT NULL REFERENCES contributions (id),
    reviewer_id TEXT NOT NULL REFERENCES agents (id),
    decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    reason TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (contribution_id, reviewer_id)
);
CREATE TRIGGER reviews_are_immutable BEFORE UPDATE ON reviews
BEGIN SELECT RAISE(ABORT, 'reviews are never edited'); END;
CREATE TRIGGER reviews_are_kept BEFORE DELETE ON reviews
BEGIN SELECT RAISE(ABORT, 'reviews are never deleted'); END;
