DROP INDEX contributions_by_supersedes;
DROP TABLE distribution_contributions;
DROP FUNCTION distribution_contributions_guard();
