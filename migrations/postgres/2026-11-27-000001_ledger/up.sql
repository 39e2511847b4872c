-- The ledger core on PostgreSQL. Every invariant the domain checks is
-- enforced here again, so a raw write that breaks one is refused by the
-- database itself.

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TABLE units (
    code TEXT PRIMARY KEY CHECK (length(code) BETWEEN 1 AND 16),
    scale INTEGER NOT NULL CHECK (scale BETWEEN 0 AND 6),
    kind TEXT NOT NULL CHECK (kind IN ('currency', 'non_monetary'))
);
CREATE TRIGGER units_are_immutable BEFORE UPDATE OR DELETE ON units
FOR EACH ROW EXECUTE FUNCTION refuse_change('units are immutable once used');

CREATE TABLE projects (
    id TEXT PRIMARY KEY CHECK (length(id) = 36),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    currency TEXT NOT NULL REFERENCES units (code),
    public INTEGER NOT NULL DEFAULT 0 CHECK (public IN (0, 1)),
    created_at TIMESTAMP NOT NULL,
    -- Head of the project's hash chain, advanced by the transactions trigger.
    last_sequence BIGINT NOT NULL DEFAULT 0 CHECK (last_sequence >= 0),
    last_hash TEXT NOT NULL
);

CREATE TABLE accounts (
    id TEXT PRIMARY KEY CHECK (length(id) = 36),
    project_id TEXT NOT NULL REFERENCES projects (id),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    currency TEXT NOT NULL REFERENCES units (code),
    non_negative INTEGER NOT NULL CHECK (non_negative IN (0, 1)),
    -- Maintained only by the postings trigger (invariant 3).
    balance BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (project_id, name),
    UNIQUE (id, project_id, currency),
    -- Invariant 4: flagged accounts never go below zero.
    CHECK (non_negative = 0 OR balance >= 0)
);
CREATE FUNCTION accounts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'accounts are never deleted' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.balance <> 0 THEN
            RAISE EXCEPTION 'accounts open with a zero balance' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF (NEW.id, NEW.project_id, NEW.name, NEW.currency, NEW.non_negative)
        IS DISTINCT FROM (OLD.id, OLD.project_id, OLD.name, OLD.currency, OLD.non_negative) THEN
        RAISE EXCEPTION 'an account''s identity, unit and flags are immutable'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    -- Balances move only through postings (the trigger below runs nested).
    IF NEW.balance IS DISTINCT FROM OLD.balance AND pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'balances change only through postings'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER accounts_guard BEFORE INSERT OR UPDATE OR DELETE ON accounts
FOR EACH ROW EXECUTE FUNCTION accounts_guard();

CREATE TABLE transactions (
    id TEXT PRIMARY KEY CHECK (length(id) = 36),
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
CREATE FUNCTION transactions_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_WHEN = 'BEFORE' THEN
        PERFORM 1 FROM projects p WHERE p.id = NEW.project_id
            AND p.last_sequence + 1 = NEW.sequence AND p.last_hash = NEW.previous_hash;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'a transaction must extend its project''s hash chain'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF NEW.reverses_id IS NOT NULL AND EXISTS (SELECT 1 FROM transactions t
            WHERE t.id = NEW.reverses_id AND t.reverses_id IS NOT NULL) THEN
            RAISE EXCEPTION 'a reversal cannot itself be reversed'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    ELSE
        UPDATE projects SET last_sequence = NEW.sequence, last_hash = NEW.hash
        WHERE id = NEW.project_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER transactions_follow_the_chain BEFORE INSERT ON transactions
FOR EACH ROW EXECUTE FUNCTION transactions_chain();
CREATE TRIGGER transactions_advance_the_chain AFTER INSERT ON transactions
FOR EACH ROW EXECUTE FUNCTION transactions_chain();
CREATE TRIGGER transactions_are_append_only BEFORE UPDATE OR DELETE ON transactions
FOR EACH ROW EXECUTE FUNCTION refuse_change('posted transactions are never updated or deleted: reverse them');

-- The head of a project's chain starts at zero and moves only to a
-- transaction that exists, one step at a time.
CREATE FUNCTION projects_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'projects are never deleted' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.last_sequence <> 0 THEN
            RAISE EXCEPTION 'a project starts with an empty ledger' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.currency IS DISTINCT FROM OLD.currency
        OR ((NEW.last_sequence, NEW.last_hash) IS DISTINCT FROM (OLD.last_sequence, OLD.last_hash)
            AND NOT (NEW.last_sequence = OLD.last_sequence + 1 AND EXISTS (SELECT 1 FROM transactions t
                WHERE t.project_id = NEW.id AND t.sequence = NEW.last_sequence AND t.hash = NEW.last_hash))) THEN
        RAISE EXCEPTION 'a project''s id, currency and chain head change only by posting'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER projects_guard BEFORE INSERT OR UPDATE OR DELETE ON projects
FOR EACH ROW EXECUTE FUNCTION projects_guard();

CREATE TABLE postings (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    position INTEGER NOT NULL CHECK (position >= 0),
    from_account_id TEXT NOT NULL,
    to_account_id TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0 AND amount <= 1000000000000000),
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
CREATE FUNCTION postings_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    from_balance BIGINT;
    to_balance BIGINT;
BEGIN
    PERFORM 1 FROM transactions t JOIN projects p ON p.id = t.project_id
        WHERE t.id = NEW.transaction_id AND t.sequence = p.last_sequence;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'postings may only be added to the newest transaction'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    UPDATE accounts SET balance = balance - NEW.amount WHERE id = NEW.from_account_id
        RETURNING balance INTO from_balance;
    UPDATE accounts SET balance = balance + NEW.amount WHERE id = NEW.to_account_id
        RETURNING balance INTO to_balance;
    IF from_balance IS DISTINCT FROM NEW.from_balance_after
        OR to_balance IS DISTINCT FROM NEW.to_balance_after THEN
        RAISE EXCEPTION 'posting running balances do not match the accounts'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER postings_apply_to_balances AFTER INSERT ON postings
FOR EACH ROW EXECUTE FUNCTION postings_apply();
CREATE TRIGGER postings_are_append_only BEFORE UPDATE OR DELETE ON postings
FOR EACH ROW EXECUTE FUNCTION refuse_change('postings are never updated or deleted: reverse the transaction');

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
