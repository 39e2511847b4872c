ALTER TABLE accounts DROP COLUMN payouts_received;
ALTER TABLE accounts DROP COLUMN distributions_earned;
