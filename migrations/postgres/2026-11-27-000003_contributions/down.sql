DROP TABLE reviews;
DROP TABLE contributions;
DROP FUNCTION contributions_guard;
DROP TABLE rates;
ALTER TABLE projects DROP COLUMN approvals_required;
ALTER TABLE projects DROP COLUMN allow_unvalued;
ALTER TABLE projects DROP COLUMN licence_policy;
