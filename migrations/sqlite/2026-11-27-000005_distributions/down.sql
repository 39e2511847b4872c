DROP TABLE distribution_approvals;
DROP TABLE distributions;
DROP TABLE rule_sets;
ALTER TABLE projects DROP COLUMN distribution_approvals_required;
