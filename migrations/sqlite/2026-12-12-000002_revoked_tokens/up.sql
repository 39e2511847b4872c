-- Tokens signed out before they expire (`DELETE /v1/auth/token`), by the
-- token's id (`jti`). A row is needed only until its token expires: each
-- revocation deletes the rows whose tokens have expired.
CREATE TABLE revoked_tokens (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents (id),
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires_at);
