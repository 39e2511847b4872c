-- Four eyes for releases and for large expenses and payouts (issue #17,
-- item 4).
--
-- A project may set `four_eyes_above`, in minor units of its currency:
-- an expense or a payout above it waits for another owner or treasurer.
-- Every release waits for one. Such a record is `pending` (no ledger
-- transaction yet) until approved (`posted`, its transaction posted then)
-- or rejected (`rejected`, with a reason; nothing is ever posted). Rows
-- recorded before are `posted`. The database keeps the four eyes too:
-- whoever decides is not whoever recorded, and a row changes only once,
-- from `pending`, in its decision. SQLite cannot make `transaction_id`
-- nullable in place, so `expenses` and `releases` are rebuilt with the
-- same rows (nothing refers to them).

ALTER TABLE projects ADD COLUMN four_eyes_above BIGINT
    CHECK (four_eyes_above IS NULL OR four_eyes_above >= 0);

CREATE TABLE expenses_before_four_eyes AS SELECT * FROM expenses;
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
    transaction_id TEXT UNIQUE REFERENCES transactions (id),
    created_by TEXT NOT NULL REFERENCES agents (id),
    created_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL DEFAULT 'posted' CHECK (status IN ('pending', 'posted', 'rejected')),
    decided_by TEXT REFERENCES agents (id),
    decided_at TIMESTAMP,
    rejection_reason TEXT,
    FOREIGN KEY (project_id, category) REFERENCES expense_categories (project_id, name),
    CHECK ((status = 'posted') = (transaction_id IS NOT NULL)),
    CHECK ((status = 'rejected') = (rejection_reason IS NOT NULL)),
    CHECK (rejection_reason IS NULL OR length(rejection_reason) BETWEEN 1 AND 1000),
    CHECK (decided_by IS NULL OR decided_by <> created_by)
);
INSERT INTO expenses (id, project_id, grant_id, pool_account, category, supplier, date,
    description, receipt_uri, amount, currency, transaction_id, created_by, created_at, status)
SELECT id, project_id, grant_id, pool_account, category, supplier, date,
    description, receipt_uri, amount, currency, transaction_id, created_by, created_at, 'posted'
FROM expenses_before_four_eyes ORDER BY id;
DROP TABLE expenses_before_four_eyes;
CREATE TRIGGER expenses_are_immutable BEFORE UPDATE ON expenses
WHEN OLD.status <> 'pending' OR NEW.status = 'pending' OR NEW.id <> OLD.id
    OR NEW.project_id <> OLD.project_id OR NEW.grant_id IS NOT OLD.grant_id
    OR NEW.pool_account <> OLD.pool_account OR NEW.category <> OLD.category
    OR NEW.supplier <> OLD.supplier OR NEW.date <> OLD.date
    OR NEW.description <> OLD.description OR NEW.receipt_uri IS NOT OLD.receipt_uri
    OR NEW.amount <> OLD.amount OR NEW.currency <> OLD.currency
    OR NEW.created_by <> OLD.created_by OR NEW.created_at <> OLD.created_at
BEGIN SELECT RAISE(ABORT, 'expenses are never edited: a pending one is approved or rejected once, a posted one reversed'); END;
CREATE TRIGGER expenses_are_kept BEFORE DELETE ON expenses
BEGIN SELECT RAISE(ABORT, 'expenses are never deleted: reverse the transaction'); END;

CREATE TABLE releases_before_four_eyes AS SELECT * FROM releases;
DROP TABLE releases;
CREATE TABLE releases (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    project_id TEXT NOT NULL REFERENCES projects (id),
    grant_id TEXT NOT NULL REFERENCES grants (id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL REFERENCES units (code),
    date DATE NOT NULL,
    -- Why the funder let the money go, e.g. its written consent.
    reason TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
    transaction_id TEXT UNIQUE REFERENCES transactions (id),
    created_by TEXT NOT NULL REFERENCES agents (id),
    created_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL DEFAULT 'posted' CHECK (status IN ('pending', 'posted', 'rejected')),
    decided_by TEXT REFERENCES agents (id),
    decided_at TIMESTAMP,
    rejection_reason TEXT,
    CHECK ((status = 'posted') = (transaction_id IS NOT NULL)),
    CHECK ((status = 'rejected') = (rejection_reason IS NOT NULL)),
    CHECK (rejection_reason IS NULL OR length(rejection_reason) BETWEEN 1 AND 1000),
    CHECK (decided_by IS NULL OR decided_by <> created_by)
);
INSERT INTO releases (id, project_id, grant_id, amount, currency, date, reason,
    transaction_id, created_by, created_at, status)
SELECT id, project_id, grant_id, amount, currency, date, reason,
    transaction_id, created_by, created_at, 'posted'
FROM releases_before_four_eyes ORDER BY id;
DROP TABLE releases_before_four_eyes;
CREATE INDEX releases_by_grant ON releases (grant_id, id);
CREATE TRIGGER releases_are_immutable BEFORE UPDATE ON releases
WHEN OLD.status <> 'pending' OR NEW.status = 'pending' OR NEW.id <> OLD.id
    OR NEW.project_id <> OLD.project_id OR NEW.grant_id <> OLD.grant_id
    OR NEW.amount <> OLD.amount OR NEW.currency <> OLD.currency OR NEW.date <> OLD.date
    OR NEW.reason <> OLD.reason
    OR NEW.created_by <> OLD.created_by OR NEW.created_at <> OLD.created_at
BEGIN SELECT RAISE(ABORT, 'releases are never edited: a pending one is approved or rejected once, a posted one reversed'); END;
CREATE TRIGGER releases_are_kept BEFORE DELETE ON releases
BEGIN SELECT RAISE(ABORT, 'releases are never deleted: reverse the transaction'); END;
CREATE TRIGGER releases_of_restricted_grants BEFORE INSERT ON releases
WHEN NOT EXISTS (SELECT 1 FROM grants g WHERE g.id = NEW.grant_id
    AND g.project_id = NEW.project_id AND g.restriction IS NOT NULL)
BEGIN SELECT RAISE(ABORT, 'only a restricted grant''s money is released'); END;
