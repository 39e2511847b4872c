CREATE OR REPLACE FUNCTION postings_keep_restricted_money() RETURNS trigger LANGUAGE plpgsql AS $$
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
