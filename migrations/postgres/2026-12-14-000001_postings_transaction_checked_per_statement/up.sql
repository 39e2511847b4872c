-- A posting's transaction checked once a statement on PostgreSQL, not once
-- a posting.
--
-- The foreign key from a posting to its transaction (of the same project)
-- was checked once a row, by a lookup whose plan the session keeps: a plan
-- made while the transactions table was small reads it whole, and a
-- distribution's execution (10,000 postings of one transaction) spent 1.7
-- of its 2.3 s in the database in that check alone. The statement trigger
-- already joins each statement's postings to their transaction to refuse
-- any but the project's newest; it now also refuses a posting whose
-- transaction does not exist or is of another project, which is what the
-- key refused. Transactions are never updated or deleted (a trigger refuses
-- it), nor truncated (refused below, as the key refused it), so a posting's
-- transaction, once checked, stays. The posting's keys to its accounts stay
-- (their checks find rows by their primary key at any size). SQLite keeps
-- its key: its checks are in the service's process.
ALTER TABLE postings DROP CONSTRAINT postings_transaction_id_project_id_fkey;

CREATE OR REPLACE FUNCTION postings_apply_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wrong RECORD;
BEGIN
    PERFORM 1 FROM (SELECT DISTINCT transaction_id, project_id FROM new_postings) n
        LEFT JOIN transactions t ON t.id = n.transaction_id AND t.project_id = n.project_id
        LEFT JOIN projects p ON p.id = t.project_id
        WHERE p.id IS NULL OR t.sequence <> p.last_sequence;
    IF FOUND THEN
        RAISE EXCEPTION 'postings may only be added to their project''s newest transaction, which must exist'
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

CREATE TRIGGER transactions_are_never_truncated BEFORE TRUNCATE ON transactions
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('posted transactions are never deleted: reverse them');
