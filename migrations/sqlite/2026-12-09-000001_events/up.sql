-- The audit trail (issue #18, item 3).
--
-- Every change of state a request makes to a project is one event in the
-- project's append-only, hash-chained log: who (the signed-in agent), when,
-- the request's id, the operation (`kind`) and its path (`subject`), the
-- state replaced (`state_before`, JSON, where something was replaced or
-- removed), the state made (`state_after`, JSON) and the ledger
-- transactions the request posted (a JSON array of their ids). Each event's
-- hash covers its content and the previous event's hash, like the ledger's
-- chain; the database refuses a row that does not extend the chain and
-- never lets one change or go.

CREATE TABLE events (
    project_id TEXT NOT NULL REFERENCES projects (id),
    sequence BIGINT NOT NULL CHECK (sequence >= 1),
    id TEXT NOT NULL UNIQUE CHECK (length(id) = 36),
    kind TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 200),
    actor_id TEXT NOT NULL REFERENCES agents (id),
    request_id TEXT NOT NULL CHECK (length(request_id) BETWEEN 1 AND 200),
    recorded_at TIMESTAMP NOT NULL,
    subject TEXT NOT NULL,
    state_before TEXT,
    state_after TEXT,
    transactions TEXT NOT NULL,
    previous_hash TEXT NOT NULL CHECK (length(previous_hash) = 64),
    hash TEXT NOT NULL CHECK (length(hash) = 64),
    PRIMARY KEY (project_id, sequence)
);
CREATE INDEX events_by_actor ON events (project_id, actor_id, sequence);
CREATE INDEX events_by_kind ON events (project_id, kind, sequence);

CREATE TRIGGER events_extend_the_chain BEFORE INSERT ON events
WHEN NOT (
    (NEW.sequence = 1 AND NEW.previous_hash = '0000000000000000000000000000000000000000000000000000000000000000'
        AND NOT EXISTS (SELECT 1 FROM events e WHERE e.project_id = NEW.project_id))
    OR EXISTS (SELECT 1 FROM events e WHERE e.project_id = NEW.project_id
        AND e.sequence = NEW.sequence - 1 AND e.hash = NEW.previous_hash)
)
BEGIN SELECT RAISE(ABORT, 'an event extends its project''s chain'); END;
CREATE TRIGGER events_are_immutable BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are never edited'); END;
CREATE TRIGGER events_are_kept BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are never deleted'); END;

-- A ledger transaction records the agent whose request posted it (null for
-- transactions posted before this column existed); its hash covers it
-- (canonical encoding version 2, docs/ledger.md).
ALTER TABLE transactions ADD COLUMN recorded_by TEXT REFERENCES agents (id);
