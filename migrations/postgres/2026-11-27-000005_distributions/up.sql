-- Redistribution rule sets (immutable versions) and distribution runs.

ALTER TABLE projects ADD COLUMN distribution_approvals_required INTEGER NOT NULL DEFAULT 1
    CHECK (distribution_approvals_required BETWEEN 1 AND 10);

CREATE TABLE rule_sets (
    project_id TEXT NOT NULL REFERENCES projects (id),
    version INTEGER NOT NULL CHECK (version > 0),
    definition TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES agents (id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, version)
);
CREATE TRIGGER rule_sets_are_immutable BEFORE UPDATE OR DELETE ON rule_sets
FOR EACH ROW EXECUTE FUNCTION refuse_change('rule sets are never edited or deleted: add a version');

CREATE TABLE distributions (
    id TEXT PRIMARY KEY CHECK (length(id) = 36),
    project_id TEXT NOT NULL REFERENCES projects (id),
    rule_set_version INTEGER NOT NULL,
    pool_account TEXT NOT NULL,
    currency TEXT NOT NULL REFERENCES units (code),
    amount BIGINT NOT NULL CHECK (amount > 0),
    period_from DATE NOT NULL,
    period_to DATE NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'approved', 'executed', 'cancelled')),
    -- The input snapshot and the computed lines, as JSON.
    inputs TEXT NOT NULL,
    plan TEXT NOT NULL,
    residue BIGINT NOT NULL CHECK (residue >= 0),
    created_by TEXT NOT NULL REFERENCES agents (id),
    created_at TIMESTAMP NOT NULL,
    transaction_id TEXT UNIQUE REFERENCES transactions (id),
    decided_at TIMESTAMP,
    FOREIGN KEY (project_id, rule_set_version) REFERENCES rule_sets (project_id, version),
    CHECK (period_from <= period_to),
    CHECK ((status = 'executed') = (transaction_id IS NOT NULL))
);
-- A run moves forward only: draft -> approved -> executed, or to cancelled.
CREATE FUNCTION distributions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'distribution runs are never deleted' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NOT ((OLD.status = 'draft' AND NEW.status IN ('approved', 'cancelled'))
            OR (OLD.status = 'approved' AND NEW.status IN ('executed', 'cancelled')))
        OR (NEW.amount, NEW.plan, NEW.inputs, NEW.pool_account, NEW.residue)
            IS DISTINCT FROM (OLD.amount, OLD.plan, OLD.inputs, OLD.pool_account, OLD.residue) THEN
        RAISE EXCEPTION 'a distribution run only moves forward and its lines never change'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER distributions_guard BEFORE UPDATE OR DELETE ON distributions
FOR EACH ROW EXECUTE FUNCTION distributions_guard();

CREATE TABLE distribution_approvals (
    distribution_id TEXT NOT NULL REFERENCES distributions (id),
    approver_id TEXT NOT NULL REFERENCES agents (id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (distribution_id, approver_id)
);
CREATE TRIGGER distribution_approvals_are_immutable BEFORE UPDATE OR DELETE ON distribution_approvals
FOR EACH ROW EXECUTE FUNCTION refuse_change('approvals are never edited or deleted');
