-- The ledger core on SQLite. Every invariant the domain checks is enforced
-- here again, so a raw write that breaks one is refused by the database itself.

CREATE TABLE units (
    code TEXT PRIMARY KEY NOT NULL CHECK (length(code) BETWEEN 1 AND 16),
    scale INTEGER NOT NULL CHECK (scale BETWEEN 0 AND 6),
    kind TEXT NOT NULL CHECK (kind IN ('currency', 'non_monetary'))
);
-- A unit's scale never changes once used.
CREATE TRIGGER units_are_immutable BEFORE UPDATE ON units
BEGIN SELECT RAISE(ABORT, 'units are immutable once used'); END;
CREATE TRIGGER units_are_kept BEFORE DELETE ON units
BEGIN SELECT RAISE(ABORT, 'units are immutable once used'); END;

CREATE TABLE projects (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    currency TEXT NOT NULL REFERENCES units (code),
    public INTEGER NOT NULL DEFAULT 0 CHECK (public IN (0, 1)),
    created_at TIMESTAMP NOT NULL,
    -- Head of the project's hash chain, advanced by the transactions trigger.
    last_sequence BIGINT NOT NULL DEFAULT 0 CHECK (last_sequence >= 0),
    last_hash TEXT NOT NULL
);

CREATE TABLE accounts (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    project_id TEXT NOT NULL REFERENCES projects (id),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    currency TEXT NOT NULL REFERENCES units (code),
    non_negative INTEGER NOT NULL CHECK (non_negative IN (0, 1)),
    -- Maintained only by the postings trigger (invariant 3).
    balance BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (project_id, name),
    UNIQUE (id, project_id, currency),
    -- SQLite turns an overflowing integer into a float: refuse that.
    CHECK (typeof(balance) = 'integer'),
    -- Invariant 4: flagged accounts never go below zero.
    CHECK (non_negative = 0 OR balance >= 0)
);
CREATE TRIGGER accounts_identity_is_immutable
BEFORE UPDATE OF id, project_id, name, currency, non_negative ON accounts
BEGIN SELECT RAISE(ABORT, 'an account''s identity, unit and flags are immutable'); END;
-- Balances move only through postings: the postings trigger holds a permit
-- while it updates them (SQLite has no trigger depth to ask instead).
CREATE TABLE balance_update_permits (posting_id INTEGER PRIMARY KEY NOT NULL);
CREATE TRIGGER accounts_balance_moves_only_by_postings
BEFORE UPDATE OF balance ON accounts
WHEN NOT EXISTS (SELECT 1 FROM balance_update_permits)
BEGIN SELECT RAISE(ABORT, 'balances change only through postings'); END;
CREATE TRIGGER accounts_open_empty BEFORE INSERT ON accounts WHEN NEW.balance <> 0
BEGIN SELECT RAISE(ABORT, 'accounts open with a zero balance'); END;
CREATE TRIGGER accounts_are_kept BEFORE DELETE ON accounts
BEGIN SELECT RAISE(ABORT, 'accounts are never deleted'); END;

CREATE TABLE transactions (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    project_id TEXT NOT NULL REFERENCES projects (id),
    sequence BIGINT NOT NULL CHECK (sequence > 0),
    kind TEXT NOT NULL CHECK (kind IN ('transfer', 'adjustment', 'grant', 'donation', 'expense',
        'distribution', 'payout', 'exchange', 'reversal')),
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
CREATE INDEX transactions_by_date ON transactions (project_id, effective_date);
-- The chain: each transaction follows the project's head, then becomes it.
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

-- The head of a project's chain starts at zero and moves only to a
-- transaction that exists, one step at a time.
CREATE TRIGGER projects_start_an_empty_chain BEFORE INSERT ON projects
WHEN NEW.last_sequence <> 0
BEGIN SELECT RAISE(ABORT, 'a project starts with an empty ledger'); END;
CREATE TRIGGER projects_head_follows_transactions
BEFORE UPDATE OF id, currency, last_sequence, last_hash ON projects
WHEN NEW.id <> OLD.id OR NEW.currency <> OLD.currency
    OR NEW.last_sequence <> OLD.last_sequence + 1
    OR NOT EXISTS (SELECT 1 FROM transactions t WHERE t.project_id = NEW.id
        AND t.sequence = NEW.last_sequence AND t.hash = NEW.last_hash)
BEGIN SELECT RAISE(ABORT, 'a project''s id, currency and chain head change only by posting'); END;
CREATE TRIGGER projects_are_kept BEFORE DELETE ON projects
BEGIN SELECT RAISE(ABORT, 'projects are never deleted'); END;

CREATE TABLE postings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    position INTEGER NOT NULL CHECK (position >= 0),
    from_account_id TEXT NOT NULL,
    to_account_id TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (typeof(amount) = 'integer' AND amount > 0 AND amount <= 1000000000000000),
    currency TEXT NOT NULL,
    from_balance_after BIGINT NOT NULL,
    to_balance_after BIGINT NOT NULL,
    UNIQUE (transaction_id, position),
    CHECK (from_account_id <> to_account_id),
    FOREIGN KEY (transaction_id, project_id) REFERENCES transactions (id, project_id),
    -- Both accounts belong to the transaction's project and hold the posting's unit.
    FOREIGN KEY (from_account_id, project_id, currency) REFERENCES accounts (id, project_id, currency),
    FOREIGN KEY (to_account_id, project_id, currency) REFERENCES accounts (id, project_id, currency)
);
CREATE INDEX postings_by_from_account ON postings (from_account_id);
CREATE INDEX postings_by_to_account ON postings (to_account_id);
-- Invariants 1 to 4 in the database: a posting moves its amount out of one
-- account and into another, only as part of the newest transaction, and the
-- recorded running balances must match.
CREATE TRIGGER postings_apply_to_balances AFTER INSERT ON postings
BEGIN
    SELECT RAISE(ABORT, 'postings may only be added to the newest transaction')
    WHERE (SELECT t.sequence FROM transactions t WHERE t.id = NEW.transaction_id)
        <> (SELECT p.last_sequence FROM projects p WHERE p.id = NEW.project_id);
    INSERT INTO balance_update_permits (posting_id) VALUES (NEW.id);
    UPDATE accounts SET balance = balance - NEW.amount WHERE id = NEW.from_account_id;
    UPDATE accounts SET balance = balance + NEW.amount WHERE id = NEW.to_account_id;
    DELETE FROM balance_update_permits WHERE posting_id = NEW.id;
    SELECT RAISE(ABORT, 'posting running balances do not match the accounts')
    WHERE (SELECT balance FROM accounts WHERE id = NEW.from_account_id) IS NOT NEW.from_balance_after
       OR (SELECT balance FROM accounts WHERE id = NEW.to_account_id) IS NOT NEW.to_balance_after;
END;
CREATE TRIGGER postings_are_append_only BEFORE UPDATE ON postings
BEGIN SELECT RAISE(ABORT, 'postings are never updated: reverse the transaction'); END;
CREATE TRIGGER postings_are_kept BEFORE DELETE ON postings
BEGIN SELECT RAISE(ABORT, 'postings are never deleted: reverse the transaction'); END;

CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash TEXT NOT NULL,
    claim_token TEXT NOT NULL,
    locked_at TIMESTAMP NOT NULL,
    response_status INTEGER,
    response_body TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, key)
);
