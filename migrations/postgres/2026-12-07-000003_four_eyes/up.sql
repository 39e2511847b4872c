-- Four eyes by default (issue #17, item 4).
--
-- A payout to the person who records it waits for another owner or
-- treasurer: it is `pending` (no ledger transaction yet) until approved
-- (`posted`, its transaction posted then) or rejected (`rejected`, with a
-- reason; nothing is ever posted). Rows recorded before are `posted`.
-- The database keeps the four eyes too: whoever decides is not whoever
-- recorded, and a row changes only once, from `pending`, in its decision.

ALTER TABLE payouts ALTER COLUMN transaction_id DROP NOT NULL;
ALTER TABLE payouts ADD COLUMN status TEXT NOT NULL DEFAULT 'posted'
    CHECK (status IN ('pending', 'posted', 'rejected'));
ALTER TABLE payouts ADD COLUMN decided_by TEXT REFERENCES agents (id);
ALTER TABLE payouts ADD COLUMN decided_at TIMESTAMP;
ALTER TABLE payouts ADD COLUMN rejection_reason TEXT;
ALTER TABLE payouts ADD CONSTRAINT payouts_posted_have_a_transaction
    CHECK ((status = 'posted') = (transaction_id IS NOT NULL));
ALTER TABLE payouts ADD CONSTRAINT payouts_rejected_have_a_reason
    CHECK ((status = 'rejected') = (rejection_reason IS NOT NULL)
        AND (rejection_reason IS NULL OR length(rejection_reason) BETWEEN 1 AND 1000));
ALTER TABLE payouts ADD CONSTRAINT payouts_four_eyes
    CHECK (decided_by IS NULL OR decided_by <> created_by);

CREATE FUNCTION payouts_decided_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.status <> 'pending' OR NEW.status = 'pending'
        OR (to_jsonb(NEW) - ARRAY['status', 'transaction_id', 'decided_by', 'decided_at', 'rejection_reason'])
            <> (to_jsonb(OLD) - ARRAY['status', 'transaction_id', 'decided_by', 'decided_at', 'rejection_reason']) THEN
        RAISE EXCEPTION 'payouts are never edited or deleted: a pending one is approved or rejected once, a posted one reversed'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER payouts_are_immutable ON payouts;
CREATE TRIGGER payouts_are_immutable BEFORE UPDATE OR DELETE ON payouts
FOR EACH ROW EXECUTE FUNCTION payouts_decided_once();
