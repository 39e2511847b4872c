DROP TRIGGER postings_keep_restricted_money;
CREATE TRIGGER postings_keep_restricted_money BEFORE INSERT ON postings
WHEN substr((SELECT a.name FROM accounts a WHERE a.id = NEW.from_account_id), 1, 11) = 'pool:grant:'
BEGIN
    SELECT RAISE(ABORT, 'restricted money leaves its pool only by an expense, a distribution of a distributable grant, a release or a reversal')
    WHERE (SELECT t.kind FROM transactions t WHERE t.id = NEW.transaction_id)
            NOT IN ('expense', 'distribution', 'release', 'reversal')
       OR ((SELECT t.kind FROM transactions t WHERE t.id = NEW.transaction_id) = 'distribution'
           AND NOT EXISTS (SELECT 1 FROM grants g JOIN accounts a
               ON a.project_id = g.project_id AND a.name = g.pool_account
               WHERE a.id = NEW.from_account_id AND g.distributable = 1));
END;
