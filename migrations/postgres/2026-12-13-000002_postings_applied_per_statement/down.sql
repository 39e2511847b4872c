DROP TRIGGER postings_apply_to_balances ON postings;
DROP FUNCTION postings_apply_statement();
CREATE FUNCTION postings_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    from_balance BIGINT;
    to_balance BIGINT;
BEGIN
    PERFORM 1 FROM transactions t JOIN projects p ON p.id = t.project_id
        WHERE t.id = NEW.transaction_id AND t.sequence = p.last_sequence;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'postings may only be added to the newest transaction'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    UPDATE accounts SET balance = balance - NEW.amount WHERE id = NEW.from_account_id
        RETURNING balance INTO from_balance;
    UPDATE accounts SET balance = balance + NEW.amount WHERE id = NEW.to_account_id
        RETURNING balance INTO to_balance;
    IF from_balance IS DISTINCT FROM NEW.from_balance_after
        OR to_balance IS DISTINCT FROM NEW.to_balance_after THEN
        RAISE EXCEPTION 'posting running balances do not match the accounts'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER postings_apply_to_balances AFTER INSERT ON postings
FOR EACH ROW EXECUTE FUNCTION postings_apply();
CREATE OR REPLACE FUNCTION insert_transaction(
    t_id TEXT,
    t_project_id TEXT,
    t_sequence BIGINT,
    t_kind TEXT,
    t_effective_date DATE,
    t_recorded_at TIMESTAMP,
    t_description TEXT,
    t_metadata TEXT,
    t_reverses_id TEXT,
    t_previous_hash TEXT,
    t_hash TEXT,
    t_recorded_by TEXT,
    p_from_account_id TEXT[],
    p_to_account_id TEXT[],
    p_amount BIGINT[],
    p_currency TEXT[],
    p_from_balance_after BIGINT[],
    p_to_balance_after BIGINT[]
) RETURNS INTEGER LANGUAGE plpgsql AS $$
DECLARE
    postings_count INTEGER := coalesce(array_length(p_from_account_id, 1), 0);
BEGIN
    IF coalesce(array_length(p_to_account_id, 1), 0) <> postings_count
        OR coalesce(array_length(p_amount, 1), 0) <> postings_count
        OR coalesce(array_length(p_currency, 1), 0) <> postings_count
        OR coalesce(array_length(p_from_balance_after, 1), 0) <> postings_count
        OR coalesce(array_length(p_to_balance_after, 1), 0) <> postings_count THEN
        RAISE EXCEPTION 'a transaction''s posting columns differ in length'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO transactions (id, project_id, sequence, kind, effective_date, recorded_at,
        description, metadata, reverses_id, previous_hash, hash, recorded_by)
    VALUES (t_id, t_project_id, t_sequence, t_kind, t_effective_date, t_recorded_at,
        t_description, t_metadata, t_reverses_id, t_previous_hash, t_hash, t_recorded_by);
    FOR i IN 1 .. postings_count LOOP
        INSERT INTO postings (transaction_id, project_id, position, from_account_id,
            to_account_id, amount, currency, from_balance_after, to_balance_after)
        VALUES (t_id, t_project_id, i - 1, p_from_account_id[i], p_to_account_id[i],
            p_amount[i], p_currency[i], p_from_balance_after[i], p_to_balance_after[i]);
    END LOOP;
    RETURN postings_count;
END $$;
