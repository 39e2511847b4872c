-- Restricted money stays restricted (issue #17, items 1 and 2).
--
-- 1. A grant says whether its money may pay contributors: `distributable`,
--    false by default for a restricted grant, always true for unrestricted
--    money (it lies in the shared general pool). Existing unrestricted
--    grants become distributable; existing restricted ones do not.
-- 2. A new transaction kind, `release`: money a funder allowed out of a
--    restricted grant's pool into the general pool, recorded in `releases`.
--    SQLite cannot change a CHECK constraint in place, so `transactions` is
--    rebuilt with the same rows, constraints, index and triggers.
-- 3. Money leaves a restricted pool (`pool:grant:*`) only by an expense, a
--    distribution of a distributable grant, a release or a reversal.

ALTER TABLE grants ADD COLUMN distributable INTEGER NOT NULL DEFAULT 0
    CHECK (distributable IN (0, 1));
DROP TRIGGER grants_are_immutable;
UPDATE grants SET distributable = 1 WHERE restriction IS NULL;
CREATE TRIGGER grants_are_immutable BEFORE UPDATE ON grants
BEGIN SELECT RAISE(ABORT, 'grants are never edited: reverse the transaction'); END;
CREATE TRIGGER grants_unrestricted_are_distributable BEFORE INSERT ON grants
WHEN NEW.restriction IS NULL AND NEW.distributable <> 1
BEGIN SELECT RAISE(ABORT, 'unrestricted money lies in the general pool: it is distributable'); END;

-- The rebuild: the rows are copied aside, the table dropped and made again
-- with `release` among its kinds, the rows copied back in ledger order, and
-- the triggers made again only then (the chain is already in place). The
-- foreign keys that point at `transactions` are checked at commit.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE transactions_before_releases AS SELECT * FROM transactions;
DROP TABLE transactions;
CREATE TABLE transactions (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    project_id TEXT NOT NULL REFERENCES projects (id),
    sequence BIGINT NOT NULL CHECK (sequence > 0),
    kind TEXT NOT NULL CHECK (kind IN ('transfer', 'adjustment', 'grant', 'donation', 'expense',
        'distribution', 'payout', 'exchange', 'reversal', 'release')),
    effective_date DATE NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    description TEXT NOT NULL,
    metadata TEXT NOT NULL,
    -- Invariant 5: a transaction is reversed at most once, by a reversal.
    reverses_id TEXT UNIQUE,
    previous_hash TEXT NOT NULL CHECK (length(previous_hash) = 64),
    hash TEXT NOT NULL CHECK (length(hash) = 64),
    UNIQUE (project_id, sequence),
    UNIQUE (id, project_id),
    -- A reversal undoes a transaction of its own project.
    FOREIGN KEY (reverses_id, project_id) REFERENCES transactions (id, project_id),
    CHECK ((kind = 'reversal') = (reverses_id IS NOT NULL))
);
INSERT INTO transactions (id, project_id, sequence, kind, effective_date, recorded_at,
    description, metadata, reverses_id, previous_hash, hash)
SELECT id, project_id, sequence, kind, effective_date, recorded_at,
    description, metadata, reverses_id, previous_hash, hash
FROM transactions_before_releases ORDER BY project_id, sequence;
DROP TABLE transactions_before_releases;
CREATE INDEX transactions_by_date ON transactions (project_id, effective_date);
CREATE TRIGGER transactions_follow_the_chain BEFORE INSERT ON transactions
BEGIN
    SELECT RAISE(ABORT, 'a transaction must extend its project''s hash chain')
    WHERE NOT EXISTS (SELECT 1 FROM projects p WHERE p.id = NEW.project_id
        AND p.last_sequence + 1 = NEW.sequence AND p.last_hash = NEW.previous_hash);
END;
CREATE TRIGGER transactions_reverse_only_originals BEFORE INSERT ON transactions
WHEN NEW.reverses_id IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a reversal cannot itself be reversed')
    WHERE EXISTS (SELECT 1 FROM transactions t WHERE t.id = NEW.reverses_id AND t.reverses_id IS NOT NULL);
END;
CREATE TRIGGER transactions_advance_the_chain AFTER INSERT ON transactions
BEGIN
    UPDATE projects SET last_sequence = NEW.sequence, last_hash = NEW.hash WHERE id = NEW.project_id;
END;
CREATE TRIGGER transactions_are_append_only BEFORE UPDATE ON transactions
BEGIN SELECT RAISE(ABORT, 'posted transactions are never updated: reverse them'); END;
CREATE TRIGGER transactions_are_kept BEFORE DELETE ON transactions
BEGIN SELECT RAISE(ABORT, 'posted transactions are never deleted: reverse them'); END;

CREATE TABLE releases (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    project_id TEXT NOT NULL REFERENCES projects (id),
    grant_id TEXT NOT NULL REFERENCES grants (id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL REFERENCES units (code),
    date DATE NOT NULL,
    -- Why the funder let the money go, e.g. its written consent.
    reason TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
    transaction_id TEXT NOT NULL UNIQUE REFERENCES transactions (id),
    created_by TEXT NOT NULL REFERENCES agents (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX releases_by_grant ON releases (grant_id, id);
CREATE TRIGGER releases_are_immutable BEFORE UPDATE ON releases
BEGIN SELECT RAISE(ABORT, 'releases are never edited: reverse the transaction'); END;
CREATE TRIGGER releases_are_kept BEFORE DELETE ON releases
BEGIN SELECT RAISE(ABORT, 'releases are never deleted: reverse the transaction'); END;
CREATE TRIGGER releases_of_restricted_grants BEFORE INSERT ON releases
WHEN NOT EXISTS (SELECT 1 FROM grants g WHERE g.id = NEW.grant_id
    AND g.project_id = NEW.project_id AND g.restriction IS NOT NULL)
BEGIN SELECT RAISE(ABORT, 'only a restricted grant''s money is released'); END;

-- Money out of a restricted pool, by the transaction's kind.
CREATE TRIGGER postings_keep_restricted_money BEFORE INSERT ON postings
WHEN substr((SELECT a.name FROM accounts a WHERE a.id = NEW.from_account_id), 1, 11) = 'pool:grant:'
BEGIN
    SELECT RAISE(ABORT, 'restricted money leaves its pool only by an expense, a distribution of a distributable grant, a release or a reversal')
    WHERE (SELECT t.kind FROM transactions t WHERE t.id = NEW.transaction_id)
            NOT IN ('expense', 'distribution', 'release', 'reversal')
       OR ((SELECT t.kind FROM transactions t WHERE t.id = NEW.transaction_id) = 'distribution'
           AND NOT EXISTS (SELECT 1 FROM grants g JOIN accounts a
               ON a.project_id = g.project_id AND a.name = g.pool_account
               WHERE a.id = NEW.from_account_id AND g.distributable = 1));
END;
