DROP TRIGGER distribution_contributions_are_never_truncated ON distribution_contributions;
DROP TRIGGER distributions_are_never_truncated ON distributions;
DROP TRIGGER contributions_are_never_truncated ON contributions;
DROP TRIGGER distribution_contributions_exist ON distribution_contributions;
DROP FUNCTION distribution_contributions_exist();
ALTER TABLE distribution_contributions
    ADD CONSTRAINT distribution_contributions_distribution_id_fkey
        FOREIGN KEY (distribution_id) REFERENCES distributions (id),
    ADD CONSTRAINT distribution_contributions_contribution_id_fkey
        FOREIGN KEY (contribution_id) REFERENCES contributions (id);
DROP INDEX contributions_corrections;
CREATE INDEX contributions_by_supersedes ON contributions (supersedes_id);
DROP INDEX contributions_counted;
