-- Running value totals beside each account's balance, so that a value
-- account is read in one row however long the ledger: the net money moved
-- into the account by distributions, and out of it by payouts, each net of
-- the reversals of either. The posting path keeps them in the transaction
-- that posts; verification re-derives them from the postings
-- (`value_total_mismatch`).
ALTER TABLE accounts ADD COLUMN distributions_earned BIGINT NOT NULL DEFAULT 0 CHECK (typeof(distributions_earned) = 'integer');
ALTER TABLE accounts ADD COLUMN payouts_received BIGINT NOT NULL DEFAULT 0 CHECK (typeof(payouts_received) = 'integer');

-- What the postings already posted give. A reversal counts as the kind of
-- the transaction it undoes.
UPDATE accounts
SET distributions_earned = totals.earned, payouts_received = totals.paid
FROM (
    SELECT account_id, CAST(SUM(earned) AS BIGINT) AS earned, CAST(SUM(paid) AS BIGINT) AS paid
    FROM (
        SELECT p.to_account_id AS account_id,
            CASE WHEN COALESCE(o.kind, t.kind) = 'distribution' THEN p.amount ELSE 0 END AS earned,
            CASE WHEN COALESCE(o.kind, t.kind) = 'payout' THEN -p.amount ELSE 0 END AS paid
        FROM postings p
        JOIN transactions t ON t.id = p.transaction_id
        LEFT JOIN transactions o ON o.id = t.reverses_id
        WHERE COALESCE(o.kind, t.kind) IN ('distribution', 'payout')
        UNION ALL
        SELECT p.from_account_id AS account_id,
            CASE WHEN COALESCE(o.kind, t.kind) = 'distribution' THEN -p.amount ELSE 0 END AS earned,
            CASE WHEN COALESCE(o.kind, t.kind) = 'payout' THEN p.amount ELSE 0 END AS paid
        FROM postings p
        JOIN transactions t ON t.id = p.transaction_id
        LEFT JOIN transactions o ON o.id = t.reverses_id
        WHERE COALESCE(o.kind, t.kind) IN ('distribution', 'payout')
    ) AS moved
    GROUP BY account_id
) AS totals
WHERE accounts.id = totals.account_id;
