DROP TRIGGER releases_are_immutable ON releases;
DELETE FROM releases WHERE status <> 'posted';
ALTER TABLE releases DROP CONSTRAINT releases_four_eyes;
ALTER TABLE releases DROP CONSTRAINT releases_rejected_have_a_reason;
ALTER TABLE releases DROP CONSTRAINT releases_posted_have_a_transaction;
ALTER TABLE releases DROP COLUMN rejection_reason;
ALTER TABLE releases DROP COLUMN decided_at;
ALTER TABLE releases DROP COLUMN decided_by;
ALTER TABLE releases DROP COLUMN status;
ALTER TABLE releases ALTER COLUMN transaction_id SET NOT NULL;
CREATE TRIGGER releases_are_immutable BEFORE UPDATE OR DELETE ON releases
FOR EACH ROW EXECUTE FUNCTION refuse_change('releases are never edited or deleted: reverse the transaction');

DROP TRIGGER expenses_are_immutable ON expenses;
DELETE FROM expenses WHERE status <> 'posted';
ALTER TABLE expenses DROP CONSTRAINT expenses_four_eyes;
ALTER TABLE expenses DROP CONSTRAINT expenses_rejected_have_a_reason;
ALTER TABLE expenses DROP CONSTRAINT expenses_posted_have_a_transaction;
ALTER TABLE expenses DROP COLUMN rejection_reason;
ALTER TABLE expenses DROP COLUMN decided_at;
ALTER TABLE expenses DROP COLUMN decided_by;
ALTER TABLE expenses DROP COLUMN status;
ALTER TABLE expenses ALTER COLUMN transaction_id SET NOT NULL;
CREATE TRIGGER expenses_are_immutable BEFORE UPDATE OR DELETE ON expenses
FOR EACH ROW EXECUTE FUNCTION refuse_change('expenses are never edited or deleted: reverse the transaction');

DROP FUNCTION decided_once();
ALTER TABLE projects DROP COLUMN four_eyes_above;
