-- Invitations: an owner proposes a membership, the invited agent accepts
-- (becoming a member with the proposed role) or declines. Nobody becomes a
-- member of a project without consenting, except by an administrator's
-- direct add.

CREATE TABLE invitations (
    id TEXT PRIMARY KEY CHECK (length(id) = 36),
    project_id TEXT NOT NULL REFERENCES projects (id),
    agent_id TEXT NOT NULL REFERENCES agents (id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'treasurer', 'contributor', 'auditor')),
    invited_by TEXT NOT NULL REFERENCES agents (id),
    created_at TIMESTAMP NOT NULL,
    -- One pending invitation per agent and project.
    UNIQUE (project_id, agent_id)
);
CREATE INDEX invitations_by_agent ON invitations (agent_id, id);
