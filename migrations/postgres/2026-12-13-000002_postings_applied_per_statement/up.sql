-- Invariants 1 to 4 on PostgreSQL, checked once a statement instead of once
-- a row: the same rules, so that a transaction of many postings from one
-- account (a distribution's execution: thousands from its pool) does not
-- update that account's row once a posting. Every such update left one more
-- version of the row inside the open transaction, which cannot be pruned
-- until it commits, and every later lookup of the row walked them all: the
-- execution's time grew with the square of its payees (10,000 postings took
-- about 27 s in the database alone).
--
-- After each statement that inserts postings, whatever inserts them (the
-- service's `insert_transaction` or raw SQL, a row or many at a time):
-- every new posting belongs to its project's newest transaction; each
-- account's balance moves by the statement's net amount on it, in one
-- update (a row lock taken in the order of the accounts' ids); and each
-- posting's recorded running balances equal the account's balance before
-- the statement plus its movements up to and including that posting (in
-- the order of the transaction's positions), which for a non-negative
-- account is never below zero, at any posting.
DROP TRIGGER postings_apply_to_balances ON postings;
DROP FUNCTION postings_apply();

CREATE FUNCTION postings_apply_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wrong RECORD;
BEGIN
    PERFORM 1 FROM (SELECT DISTINCT transaction_id FROM new_postings) n
        LEFT JOIN transactions t ON t.id = n.transaction_id
        LEFT JOIN projects p ON p.id = t.project_id
        WHERE p.id IS NULL OR t.sequence <> p.last_sequence;
    IF FOUND THEN
        RAISE EXCEPTION 'postings may only be added to the newest transaction'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    PERFORM 1 FROM accounts a
        WHERE a.id IN (SELECT from_account_id FROM new_postings
                       UNION SELECT to_account_id FROM new_postings)
        ORDER BY a.id FOR UPDATE;
    WITH moves AS (
        SELECT from_account_id AS account, -amount AS delta, from_balance_after AS after,
            transaction_id, position
        FROM new_postings
        UNION ALL
        SELECT to_account_id, amount, to_balance_after, transaction_id, position
        FROM new_postings
    ),
    net AS (
        SELECT account, sum(delta) AS delta FROM moves GROUP BY account
    ),
    moved AS (
        UPDATE accounts a SET balance = a.balance + n.delta
        FROM net n WHERE a.id = n.account
        RETURNING a.id, a.balance - n.delta AS before, a.non_negative
    ),
    running AS (
        SELECT m.account, m.after, d.non_negative,
            d.before + sum(m.delta) OVER (PARTITION BY m.account
                ORDER BY m.transaction_id, m.position ROWS UNBOUNDED PRECEDING) AS computed
        FROM moves m JOIN moved d ON d.id = m.account
    )
    SELECT account, after, computed, non_negative INTO wrong FROM running
        WHERE computed IS DISTINCT FROM after OR (non_negative = 1 AND computed < 0)
        LIMIT 1;
    IF FOUND THEN
        IF wrong.non_negative = 1 AND wrong.computed < 0 THEN
            RAISE EXCEPTION 'a non-negative account would go below zero'
                USING ERRCODE = 'check_violation';
        END IF;
        RAISE EXCEPTION 'posting running balances do not match the accounts'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER postings_apply_to_balances AFTER INSERT ON postings
REFERENCING NEW TABLE AS new_postings
FOR EACH STATEMENT EXECUTE FUNCTION postings_apply_statement();

-- The service's one round trip inserts the postings by one statement now,
-- in the order of their positions.
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
    INSERT INTO postings (transaction_id, project_id, position, from_account_id,
        to_account_id, amount, currency, from_balance_after, to_balance_after)
    SELECT t_id, t_project_id, (p.n - 1)::INTEGER, p.from_account_id, p.to_account_id,
        p.amount, p.currency, p.from_balance_after, p.to_balance_after
    FROM unnest(p_from_account_id, p_to_account_id, p_amount, p_currency,
        p_from_balance_after, p_to_balance_after)
        WITH ORDINALITY AS p(from_account_id, to_account_id, amount, currency,
            from_balance_after, to_balance_after, n)
    ORDER BY p.n;
    RETURN postings_count;
END $$;
