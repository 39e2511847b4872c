DROP TABLE idempotency_keys;
DROP TABLE postings;
DROP TABLE transactions;
DROP TABLE accounts;
DROP TABLE balance_update_permits;
DROP TABLE projects;
DROP TABLE units;
