-- Pending and rejected payouts have no transaction: they cannot go back
-- into the table as it was, so the new columns stay, unused.
SELECT 1;
