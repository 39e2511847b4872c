DROP TRIGGER IF EXISTS postings_keep_restricted_money ON postings;
DROP FUNCTION IF EXISTS postings_keep_restricted_money();
DROP TABLE releases;
DROP FUNCTION IF EXISTS releases_of_restricted_grants();
ALTER TABLE transactions DROP CONSTRAINT transactions_kind_check;
ALTER TABLE transactions ADD CONSTRAINT transactions_kind_check
    CHECK (kind IN ('transfer', 'adjustment', 'grant', 'donation', 'expense',
        'distribution', 'payout', 'exchange', 'reversal'));
ALTER TABLE grants DROP CONSTRAINT grants_unrestricted_are_distributable;
ALTER TABLE grants DROP COLUMN distributable;
