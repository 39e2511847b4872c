-- Four eyes by default (issue #17, item 4).
--
-- A payout to the person who records it waits for another owner or
-- treasurer: it is `pending` (no ledger transaction yet) until approved
-- (`posted`, its transaction posted then) or rejected (`rejected`, with a
-- reason; nothing is ever posted). Rows recorded before are `posted`.
-- The database keeps the four eyes too: whoever decides is not whoever
-- recorded, and a row changes only once, from `pending`, in its decision.
-- SQLite cannot make `transaction_id` nullable in place, so `payouts` is
-- rebuilt with the same rows (nothing refers to it).

CREATE TABLE payouts_before_four_eyes AS SELECT * FROM payouts;
DROP TABLE payouts;
CREATE TABLE payouts (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    project_id TEXT NOT NULL REFERENCES projects (id),
    agent_id TEXT NOT NULL REFERENCES agents (id),
    method TEXT NOT NULL,
    reference TEXT NOT NULL,
    date DATE NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL REFERENCES units (code),
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
INSERT INTO payouts (id, project_id, agent_id, method, reference, date, amount, currency,
    transaction_id, created_by, created_at, status)
SELECT id, project_id, agent_id, method, reference, date, amount, currency,
    transaction_id, created_by, created_at, 'posted'
FROM payouts_before_four_eyes ORDER BY id;
DROP TABLE payouts_before_four_eyes;
CREATE TRIGGER payouts_are_immutable BEFORE UPDATE ON payouts
WHEN OLD.status <> 'pending' OR NEW.status = 'pending' OR NEW.id <> OLD.id
    OR NEW.project_id <> OLD.project_id OR NEW.agent_id <> OLD.agent_id
    OR NEW.method <> OLD.method OR NEW.reference <> OLD.reference OR NEW.date <> OLD.date
    OR NEW.amount <> OLD.amount OR NEW.currency <> OLD.currency
    OR NEW.created_by <> OLD.created_by OR NEW.created_at <> OLD.created_at
BEGIN SELECT RAISE(ABORT, 'payouts are never edited: a pending one is approved or rejected once, a posted one reversed'); END;
CREATE TRIGGER payouts_are_kept BEFORE DELETE ON payouts
BEGIN SELECT RAISE(ABORT, 'payouts are never deleted: reverse the transaction'); END;
