-- Expense claims (issue #17, item 5).
--
-- A member claims back money they spent for the project: the claim is
-- `pending` (nothing posted) until an owner or treasurer other than the
-- claimant approves it (`approved`: one `expense` transaction from the pool
-- to `contributor:<claimant>`, and its expense row, both named here) or
-- rejects it (`rejected`, with a reason; nothing is ever posted). The
-- database keeps the four eyes too: whoever decides is not the claimant,
-- and a row changes only once, from `pending`, in its decision.

CREATE TABLE claims (
    id TEXT PRIMARY KEY CHECK (length(id) = 36),
    project_id TEXT NOT NULL REFERENCES projects (id),
    claimant_id TEXT NOT NULL REFERENCES agents (id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL REFERENCES units (code),
    category TEXT NOT NULL,
    date DATE NOT NULL,
    description TEXT NOT NULL CHECK (length(description) BETWEEN 1 AND 1000),
    receipt_reference TEXT
        CHECK (receipt_reference IS NULL OR length(receipt_reference) BETWEEN 1 AND 1000),
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    created_at TIMESTAMP NOT NULL,
    decided_by TEXT REFERENCES agents (id),
    decided_at TIMESTAMP,
    -- The grant whose pool paid an approved claim (none: the general pool).
    grant_id TEXT REFERENCES grants (id),
    expense_id TEXT UNIQUE REFERENCES expenses (id),
    transaction_id TEXT UNIQUE REFERENCES transactions (id),
    rejection_reason TEXT,
    FOREIGN KEY (project_id, category) REFERENCES expense_categories (project_id, name),
    CONSTRAINT claims_approved_have_a_transaction
        CHECK ((status = 'approved') = (transaction_id IS NOT NULL)),
    CONSTRAINT claims_approved_have_an_expense
        CHECK ((status = 'approved') = (expense_id IS NOT NULL)),
    CONSTRAINT claims_grant_only_once_approved
        CHECK (status = 'approved' OR grant_id IS NULL),
    CONSTRAINT claims_rejected_have_a_reason
        CHECK ((status = 'rejected') = (rejection_reason IS NOT NULL)
            AND (rejection_reason IS NULL OR length(rejection_reason) BETWEEN 1 AND 1000)),
    CONSTRAINT claims_decided_have_a_decider
        CHECK ((status = 'pending') = (decided_by IS NULL)
            AND (status = 'pending') = (decided_at IS NULL)),
    CONSTRAINT claims_four_eyes
        CHECK (decided_by IS NULL OR decided_by <> claimant_id)
);
-- A claimant's claims, for their list and their value account.
CREATE INDEX claims_by_claimant ON claims (project_id, claimant_id, id);

CREATE FUNCTION claims_decided_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.status <> 'pending' OR NEW.status = 'pending'
        OR (to_jsonb(NEW) - ARRAY['status', 'decided_by', 'decided_at', 'grant_id', 'expense_id', 'transaction_id', 'rejection_reason'])
            <> (to_jsonb(OLD) - ARRAY['status', 'decided_by', 'decided_at', 'grant_id', 'expense_id', 'transaction_id', 'rejection_reason']) THEN
        RAISE EXCEPTION 'claims are never edited or deleted: a pending one is approved or rejected once, an approved one reversed'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER claims_are_immutable BEFORE UPDATE OR DELETE ON claims
FOR EACH ROW EXECUTE FUNCTION claims_decided_once();
