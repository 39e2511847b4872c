-- Funds in any currency (issue #17, item 6).
--
-- A restricted grant's money may be exchanged into another currency and
-- stays the grant's: it moves from `pool:grant:<reference>` (or one of the
-- grant's pools in another currency, `pool:grant:<reference>:<currency>`)
-- through the currency's exchange account into the grant's pool of the
-- other currency. The database lets an `exchange` take money out of a
-- restricted pool only into an exchange account; a distribution from any
-- of a distributable grant's pools is allowed.

DROP TRIGGER postings_keep_restricted_money;
CREATE TRIGGER postings_keep_restricted_money BEFORE INSERT ON postings
WHEN substr((SELECT a.name FROM accounts a WHERE a.id = NEW.from_account_id), 1, 11) = 'pool:grant:'
BEGIN
    SELECT RAISE(ABORT, 'restricted money leaves its pool only by an expense, a distribution of a distributable grant, an exchange into the grant''s pool of another currency, a release or a reversal')
    WHERE (SELECT t.kind FROM transactions t WHERE t.id = NEW.transaction_id)
            NOT IN ('expense', 'distribution', 'release', 'reversal', 'exchange')
       OR ((SELECT t.kind FROM transactions t WHERE t.id = NEW.transaction_id) = 'exchange'
           AND substr((SELECT a.name FROM accounts a WHERE a.id = NEW.to_account_id), 1, 9) <> 'exchange:')
       OR ((SELECT t.kind FROM transactions t WHERE t.id = NEW.transaction_id) = 'distribution'
           AND NOT EXISTS (SELECT 1 FROM grants g JOIN accounts a ON a.project_id = g.project_id
               WHERE a.id = NEW.from_account_id AND g.distributable = 1
               AND (a.name = g.pool_account
                   OR substr(a.name, 1, length(g.pool_account) + 1) = g.pool_account || ':')));
END;
