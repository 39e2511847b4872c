-- Funds in any currency (issue #17, item 6).
--
-- A restricted grant's money may be exchanged into another currency and
-- stays the grant's: it moves from `pool:grant:<reference>` (or one of the
-- grant's pools in another currency, `pool:grant:<reference>:<currency>`)
-- through the currency's exchange account into the grant's pool of the
-- other currency. The database lets an `exchange` take money out of a
-- restricted pool only into an exchange account; a distribution from any
-- of a distributable grant's pools is allowed.

CREATE OR REPLACE FUNCTION postings_keep_restricted_money() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    from_name TEXT;
    to_name TEXT;
    tx_kind TEXT;
BEGIN
    SELECT a.name INTO from_name FROM accounts a WHERE a.id = NEW.from_account_id;
    IF left(from_name, 11) <> 'pool:grant:' THEN
        RETURN NEW;
    END IF;
    SELECT a.name INTO to_name FROM accounts a WHERE a.id = NEW.to_account_id;
    SELECT t.kind INTO tx_kind FROM transactions t WHERE t.id = NEW.transaction_id;
    IF tx_kind NOT IN ('expense', 'distribution', 'release', 'reversal', 'exchange')
        OR (tx_kind = 'exchange' AND left(to_name, 9) <> 'exchange:')
        OR (tx_kind = 'distribution' AND NOT EXISTS (SELECT 1 FROM grants g
            WHERE g.project_id = NEW.project_id AND g.distributable = 1
            AND (g.pool_account = from_name
                OR left(from_name, length(g.pool_account) + 1) = g.pool_account || ':'))) THEN
        RAISE EXCEPTION 'restricted money leaves its pool only by an expense, a distribution of a distributable grant, an exchange into the grant''s pool of another currency, a release or a reversal'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
