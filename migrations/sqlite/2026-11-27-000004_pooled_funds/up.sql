-- Pooled funds: grants and donations received, expenses and payouts made.
-- Each row points at the ordinary ledger transaction that moved the money.

CREATE TABLE grants (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    project_id TEXT NOT NULL REFERENCES projects (id),
    funder_id TEXT NOT NULL REFERENCES agents (id),
    kind TEXT NOT NULL CHECK (kind IN ('grant', 'donation')),
    reference TEXT NOT NULL CHECK (length(reference) BETWEEN 1 AND 100),
    amount BIGINT NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL REFERENCES units (code),
    received_on DATE NOT NULL,
    period_start DATE,
    period_end DATE,
    restriction TEXT,
    -- Expense categories the restricted money may pay for ('' = any), comma-separated.
    eligible_categories TEXT NOT NULL DEFAULT '',
    pool_account TEXT NOT NULL,
    transaction_id TEXT NOT NULL UNIQUE REFERENCES transactions (id),
    created_by TEXT NOT NULL REFERENCES agents (id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (project_id, reference),
    CHECK (kind = 'grant' OR restriction IS NULL),
    CHECK (period_start IS NULL OR period_end IS NULL OR period_start <= period_end)
);
CREATE TRIGGER grants_are_immutable BEFORE UPDATE ON grants
BEGIN SELECT RAISE(ABORT, 'grants are never edited: reverse the transaction'); END;
CREATE TRIGGER grants_are_kept BEFORE DELETE ON grants
BEGIN SELECT RAISE(ABORT, 'grants are never deleted: reverse the transaction'); END;

CREATE TABLE expense_categories (
    project_id TEXT NOT NULL REFERENCES projects (id),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- The funder's cost category it reports under, e.g. 'C purchases'.
    funder_category TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, name)
);

CREATE TABLE expenses (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    project_id TEXT NOT NULL REFERENCES projects (id),
    grant_id TEXT REFERENCES grants (id),
    pool_account TEXT NOT NULL,
    category TEXT NOT NULL,
    supplier TEXT NOT NULL,
    date DATE NOT NULL,
    description TEXT NOT NULL,
    receipt_uri TEXT,
    amount BIGINT NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL REFERENCES units (code),
    transaction_id TEXT NOT NULL UNIQUE REFERENCES transactions (id),
    created_by TEXT NOT NULL REFERENCES agents (id),
    created_at TIMESTAMP NOT NULL,
    FOREIGN KEY (project_id, category) REFERENCES expense_categories (project_id, name)
);
CREATE TRIGGER expenses_are_immutable BEFORE UPDATE ON expenses
BEGIN SELECT RAISE(ABORT, 'expenses are never edited: reverse the transaction'); END;
CREATE TRIGGER expenses_are_kept BEFORE DELETE ON expenses
BEGIN SELECT RAISE(ABORT, 'expenses are never deleted: reverse the transaction'); END;

CREATE TABLE payouts (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    project_id TEXT NOT NULL REFERENCES projects (id),
    agent_id TEXT NOT NULL REFERENCES agents (id),
    method TEXT NOT NULL,
    reference TEXT NOT NULL,
    date DATE NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL REFERENCES units (code),
    transaction_id TEXT NOT NULL UNIQUE REFERENCES transactions (id),
    created_by TEXT NOT NULL REFERENCES agents (id),
    created_at TIMESTAMP NOT NULL
);
CREATE TRIGGER payouts_are_immutable BEFORE UPDATE ON payouts
BEGIN SELECT RAISE(ABORT, 'payouts are never edited: reverse the transaction'); END;
CREATE TRIGGER payouts_are_kept BEFORE DELETE ON payouts
BEGIN SELECT RAISE(ABORT, 'payouts are never deleted: reverse the transaction'); END;
