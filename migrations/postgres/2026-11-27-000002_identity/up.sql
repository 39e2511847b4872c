-- People and organisations, their credentials, and their roles per project.

CREATE TABLE agents (
    id TEXT PRIMARY KEY CHECK (length(id) = 36),
    kind TEXT NOT NULL CHECK (kind IN ('person', 'organisation')),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- Stored lower-case, so uniqueness ignores case.
    email TEXT UNIQUE CHECK (email IS NULL OR (length(email) BETWEEN 3 AND 254 AND email = lower(email))),
    -- PHC string of an argon2id hash; never the password.
    password_hash TEXT CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%'),
    is_admin INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    -- Tokens carry this number; raising it revokes every token issued before.
    token_version BIGINT NOT NULL DEFAULT 0 CHECK (token_version >= 0),
    created_at TIMESTAMP NOT NULL,
    -- People and organisations (a funder's shared login) may sign in with an email.
    CHECK (password_hash IS NULL OR email IS NOT NULL),
    CHECK (is_admin = 0 OR kind = 'person')
);
CREATE TRIGGER agents_are_kept BEFORE DELETE ON agents
FOR EACH ROW EXECUTE FUNCTION refuse_change('agents are never deleted: the ledger refers to them');

CREATE TABLE memberships (
    project_id TEXT NOT NULL REFERENCES projects (id),
    agent_id TEXT NOT NULL REFERENCES agents (id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'treasurer', 'contributor', 'auditor')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, agent_id)
);
CREATE INDEX memberships_by_agent ON memberships (agent_id);
