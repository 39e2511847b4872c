DROP TABLE idempotency_keys;
DROP TABLE postings;
DROP TABLE transactions;
DROP TABLE accounts;
DROP TABLE projects;
DROP TABLE units;
