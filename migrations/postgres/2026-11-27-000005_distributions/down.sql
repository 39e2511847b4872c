DROP TABLE distribution_approvals;
DROP TABLE distributions;
DROP FUNCTION distributions_guard;
DROP TABLE rule_sets;
ALTER TABLE projects DROP COLUMN distribution_approvals_required;
