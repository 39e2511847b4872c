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

CREATE FUNCTION events_extend_the_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_sequence BIGINT;
    last_hash TEXT;
BEGIN
    SELECT e.sequence, e.hash INTO last_sequence, last_hash FROM events e
    WHERE e.project_id = NEW.project_id ORDER BY e.sequence DESC LIMIT 1;
    IF NEW.sequence <> COALESCE(last_sequence, 0) + 1
        OR NEW.previous_hash <> COALESCE(last_hash, repeat('0', 64)) THEN
        RAISE EXCEPTION 'an event extends its project''s chain' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER events_extend_the_chain BEFORE INSERT ON events
FOR EACH ROW EXECUTE FUNCTION events_extend_the_chain();
CREATE TRIGGER events_are_immutable BEFORE UPDATE OR DELETE ON events
FOR EACH ROW EXECUTE FUNCTION refuse_change('events are never edited or deleted');

-- A ledger transaction records the agent whose request posted it (null for
-- transactions posted before this column existed); its hash covers it
-- (canonical encoding version 2, docs/ledger.md).
ALTER TABLE transactions ADD COLUMN recorded_by TEXT REFERENCES agents (id);
