-- Pending and rejected expenses and releases have no place in the earlier
-- schema; going down keeps the posted ones.
CREATE TABLE expenses_after_four_eyes AS SELECT * FROM expenses WHERE status = 'posted';
DROP TABLE expenses;
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
INSERT INTO expenses SELECT id, project_id, grant_id, pool_account, category, supplier, date,
    description, receipt_uri, amount, currency, transaction_id, created_by, created_at
FROM expenses_after_four_eyes;
DROP TABLE expenses_after_four_eyes;
CREATE TRIGGER expenses_are_immutable BEFORE UPDATE ON expenses
BEGIN SELECT RAISE(ABORT, 'expenses are never edited: reverse the transaction'); END;
CREATE TRIGGER expenses_are_kept BEFORE DELETE ON expenses
BEGIN SELECT RAISE(ABORT, 'expenses are never deleted: reverse the transaction'); END;

CREATE TABLE releases_after_four_eyes AS SELECT * FROM releases WHERE status = 'posted';
DROP TABLE releases;
CREATE TABLE releases (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    project_id TEXT NOT NULL REFERENCES projects (id),
    grant_id TEXT NOT NULL REFERENCES grants (id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL REFERENCES units (code),
    date DATE NOT NULL,
    reason TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
    transaction_id TEXT NOT NULL UNIQUE REFERENCES transactions (id),
    created_by TEXT NOT NULL REFERENCES agents (id),
    created_at TIMESTAMP NOT NULL
);
INSERT INTO releases SELECT id, project_id, grant_id, amount, currency, date, reason,
    transaction_id, created_by, created_at
FROM releases_after_four_eyes;
DROP TABLE releases_after_four_eyes;
CREATE INDEX releases_by_grant ON releases (grant_id, id);
CREATE TRIGGER releases_are_immutable BEFORE UPDATE ON releases
BEGIN SELECT RAISE(ABORT, 'releases are never edited: reverse the transaction'); END;
CREATE TRIGGER releases_are_kept BEFORE DELETE ON releases
BEGIN SELECT RAISE(ABORT, 'releases are never deleted: reverse the transaction'); END;
CREATE TRIGGER releases_of_restricted_grants BEFORE INSERT ON releases
WHEN NOT EXISTS (SELECT 1 FROM grants g WHERE g.id = NEW.grant_id
    AND g.project_id = NEW.project_id AND g.restriction IS NOT NULL)
BEGIN SELECT RAISE(ABORT, 'only a restricted grant''s money is released'); END;

ALTER TABLE projects DROP COLUMN four_eyes_above;
