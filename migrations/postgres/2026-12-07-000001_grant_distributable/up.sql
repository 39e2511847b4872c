-- Restricted money stays restricted (issue #17, items 1 and 2).
--
-- 1. A grant says whether its money may pay contributors: `distributable`,
--    false by default for a restricted grant, always true for unrestricted
--    money (it lies in the shared general pool). Existing unrestricted
--    grants become distributable; existing restricted ones do not.
-- 2. A new transaction kind, `release`: money a funder allowed out of a
--    restricted grant's pool into the general pool, recorded in `releases`.
-- 3. Money leaves a restricted pool (`pool:grant:*`) only by an expense, a
--    distribution of a distributable grant, a release or a reversal.

ALTER TABLE grants ADD COLUMN distributable INTEGER NOT NULL DEFAULT 0
    CHECK (distributable IN (0, 1));
ALTER TABLE grants DISABLE TRIGGER grants_are_immutable;
UPDATE grants SET distributable = 1 WHERE restriction IS NULL;
ALTER TABLE grants ENABLE TRIGGER grants_are_immutable;
ALTER TABLE grants ADD CONSTRAINT grants_unrestricted_are_distributable
    CHECK (restriction IS NOT NULL OR distributable = 1);

ALTER TABLE transactions DROP CONSTRAINT transactions_kind_check;
ALTER TABLE transactions ADD CONSTRAINT transactions_kind_check
    CHECK (kind IN ('transfer', 'adjustment', 'grant', 'donation', 'expense',
        'distribution', 'payout', 'exchange', 'reversal', 'release'));

CREATE TABLE releases (
    id TEXT PRIMARY KEY CHECK (length(id) = 36),
    project_id TEXT NOT NULL REFERENCES projects (id),
    grant_id TEXT NOT NULL REFERENCES grants (id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL REFERENCES units (code),
    date DATE NOT NULL,
    -- Why the funder let the money go, e.g. its written consent.
    reason TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
    transaction_id TEXT NOT NULL UNIQUE REFERENCES transactions (id),
    created_by TEXT NOT NULL REFERENCES agents (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX releases_by_grant ON releases (grant_id, id);
CREATE TRIGGER releases_are_immutable BEFORE UPDATE OR DELETE ON releases
FOR EACH ROW EXECUTE FUNCTION refuse_change('releases are never edited or deleted: reverse the transaction');
CREATE FUNCTION releases_of_restricted_grants() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM grants g WHERE g.id = NEW.grant_id
        AND g.project_id = NEW.project_id AND g.restriction IS NOT NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'only a restricted grant''s money is released'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER releases_of_restricted_grants BEFORE INSERT ON releases
FOR EACH ROW EXECUTE FUNCTION releases_of_restricted_grants();

-- Money out of a restricted pool, by the transaction's kind.
CREATE FUNCTION postings_keep_restricted_money() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    from_name TEXT;
    tx_kind TEXT;
BEGIN
    SELECT a.name INTO from_name FROM accounts a WHERE a.id = NEW.from_account_id;
    IF left(from_name, 11) <> 'pool:grant:' THEN
        RETURN NEW;
    END IF;
    SELECT t.kind INTO tx_kind FROM transactions t WHERE t.id = NEW.transaction_id;
    IF tx_kind NOT IN ('expense', 'distribution', 'release', 'reversal')
        OR (tx_kind = 'distribution' AND NOT EXISTS (SELECT 1 FROM grants g
            WHERE g.project_id = NEW.project_id AND g.pool_account = from_name
            AND g.distributable = 1)) THEN
        RAISE EXCEPTION 'restricted money leaves its pool only by an expense, a distribution of a distributable grant, a release or a reversal'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER postings_keep_restricted_money BEFORE INSERT ON postings
FOR EACH ROW EXECUTE FUNCTION postings_keep_restricted_money();
