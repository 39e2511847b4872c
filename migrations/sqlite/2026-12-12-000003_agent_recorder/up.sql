-- Who recorded an agent (null for agents recorded before this column, by
-- the command line or by an administrator's first start): they may read it
-- back without sharing a project with it.
ALTER TABLE agents ADD COLUMN created_by TEXT REFERENCES agents (id);
