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
-- from `pending`, in its decision.

ALTER TABLE projects ADD COLUMN four_eyes_above BIGINT
    CHECK (four_eyes_above IS NULL OR four_eyes_above >= 0);

CREATE FUNCTION decided_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.status <> 'pending' OR NEW.status = 'pending'
        OR (to_jsonb(NEW) - ARRAY['status', 'transaction_id', 'decided_by', 'decided_at', 'rejection_reason'])
            <> (to_jsonb(OLD) - ARRAY['status', 'transaction_id', 'decided_by', 'decided_at', 'rejection_reason']) THEN
        RAISE EXCEPTION '% are never edited or deleted: a pending one is approved or rejected once, a posted one reversed', TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;

ALTER TABLE expenses ALTER COLUMN transaction_id DROP NOT NULL;
ALTER TABLE expenses ADD COLUMN status TEXT NOT NULL DEFAULT 'posted'
    CHECK (status IN ('pending', 'posted', 'rejected'));
ALTER TABLE expenses ADD COLUMN decided_by TEXT REFERENCES agents (id);
ALTER TABLE expenses ADD COLUMN decided_at TIMESTAMP;
ALTER TABLE expenses ADD COLUMN rejection_reason TEXT;
ALTER TABLE expenses ADD CONSTRAINT expenses_posted_have_a_transaction
    CHECK ((status = 'posted') = (transaction_id IS NOT NULL));
ALTER TABLE expenses ADD CONSTRAINT expenses_rejected_have_a_reason
    CHECK ((status = 'rejected') = (rejection_reason IS NOT NULL)
        AND (rejection_reason IS NULL OR length(rejection_reason) BETWEEN 1 AND 1000));
ALTER TABLE expenses ADD CONSTRAINT expenses_four_eyes
    CHECK (decided_by IS NULL OR decided_by <> created_by);
DROP TRIGGER expenses_are_immutable ON expenses;
CREATE TRIGGER expenses_are_immutable BEFORE UPDATE OR DELETE ON expenses
FOR EACH ROW EXECUTE FUNCTION decided_once();

ALTER TABLE releases ALTER COLUMN transaction_id DROP NOT NULL;
ALTER TABLE releases ADD COLUMN status TEXT NOT NULL DEFAULT 'posted'
    CHECK (status IN ('pending', 'posted', 'rejected'));
ALTER TABLE releases ADD COLUMN decided_by TEXT REFERENCES agents (id);
ALTER TABLE releases ADD COLUMN decided_at TIMESTAMP;
ALTER TABLE releases ADD COLUMN rejection_reason TEXT;
ALTER TABLE releases ADD CONSTRAINT releases_posted_have_a_transaction
    CHECK ((status = 'posted') = (transaction_id IS NOT NULL));
ALTER TABLE releases ADD CONSTRAINT releases_rejected_have_a_reason
    CHECK ((status = 'rejected') = (rejection_reason IS NOT NULL)
        AND (rejection_reason IS NULL OR length(rejection_reason) BETWEEN 1 AND 1000));
ALTER TABLE releases ADD CONSTRAINT releases_four_eyes
    CHECK (decided_by IS NULL OR decided_by <> created_by);
DROP TRIGGER releases_are_immutable ON releases;
CREATE TRIGGER releases_are_immutable BEFORE UPDATE OR DELETE ON releases
FOR EACH ROW EXECUTE FUNCTION decided_once();
