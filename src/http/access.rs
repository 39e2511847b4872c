//! The caller behind a request and the authorization decision for a project,
//! taken inside the request's database transaction.

use super::codes::Resource;
use crate::auth::{AuthError, Credentials};
use crate::db::agents::AgentRow;
use crate::db::projects::Project;
use crate::db::{self, DbConnection};
use crate::domain::access::{Action, Decision, Requester, decide};

use super::problem::ApiError;

/// Who is calling, resolved against the database.
#[derive(Debug, Clone)]
pub enum Caller {
    Anonymous,
    Agent(AgentRow),
}

impl Caller {
    /// Resolves verified token claims to an agent. A token whose agent is
    /// unknown, or whose version is older than the agent's, is refused (401).
    pub fn resolve(conn: &mut DbConnection, credentials: &Credentials) -> Result<Caller, ApiError> {
        let Some(claims) = &credentials.0 else {
            return Ok(Caller::Anonymous);
        };
        if claims.external {
            let email = claims
                .email
                .as_deref()
                .ok_or(AuthError::Invalid("missing email claim"))?;
            return db::agents::find_by_email(conn, &email.to_lowercase())?
                .map(Caller::Agent)
                .ok_or(ApiError::Unauthorized(AuthError::UnknownAgent));
        }
        let found = db::agents::find_signed_in(conn, &claims.sub, claims.jti.as_deref())?;
        Ok(Caller::Agent(signed_in_agent(claims, found)?))
    }

    /// Like `resolve`, but a caller without a token is refused (401).
    pub fn require(
        conn: &mut DbConnection,
        credentials: &Credentials,
    ) -> Result<AgentRow, ApiError> {
        credentials.required()?;
        match Self::resolve(conn, credentials)? {
            Caller::Agent(agent) => Ok(agent),
            Caller::Anonymous => Err(AuthError::Missing.into()),
        }
    }

    pub fn agent(&self) -> Option<&AgentRow> {
        match self {
            Caller::Agent(agent) => Some(agent),
            Caller::Anonymous => None,
        }
    }

    /// The signed-in agent: a write's recorder, author or reviewer. Writes
    /// require a token, so an anonymous caller here is refused (401), never
    /// recorded as nobody.
    pub fn signed_in(&self) -> Result<&AgentRow, ApiError> {
        self.agent().ok_or_else(|| AuthError::Missing.into())
    }

    pub fn is_admin(&self) -> bool {
        self.agent().is_some_and(|agent| agent.is_admin)
    }
}

/// The scope idempotency keys live in: the caller, as named by the token.
pub fn idempotency_scope(credentials: &Credentials) -> String {
    match &credentials.0 {
        Some(claims) if claims.external => {
            format!("external:{}", claims.email.as_deref().unwrap_or_default())
        }
        Some(claims) => format!("agent:{}", claims.sub),
        None => "anonymous".to_owned(),
    }
}

/// The agent a token of this service names, as found with whether the
/// token is revoked: refused (401) when there is no such agent, when the
/// token was revoked, or when its version is older than the agent's.
fn signed_in_agent(
    claims: &crate::auth::Claims,
    found: Option<(AgentRow, bool)>,
) -> Result<AgentRow, ApiError> {
    let (agent, revoked) = found.ok_or(ApiError::Unauthorized(AuthError::UnknownAgent))?;
    if revoked || Some(agent.token_version) != claims.ver {
        return Err(AuthError::Revoked.into());
    }
    Ok(agent)
}

/// Loads the project and decides whether the caller may perform `action`
/// on it: 404 when they may not know it exists, 401 when they must sign in,
/// 403 when their role does not allow it.
pub fn authorize(
    conn: &mut DbConnection,
    caller: &Caller,
    project_id: &str,
    action: Action,
) -> Result<Project, ApiError> {
    // The caller's membership rides in the project's own statement.
    let found = match caller.agent() {
        Some(agent) => db::projects::find_with_role(conn, project_id, &agent.id)?,
        None => db::projects::find(conn, project_id)?.map(|project| (project, None)),
    };
    let (project, role) = found.ok_or(ApiError::NotFound(Resource::Project))?;
    decide_on(caller, project, role, action)
}

/// Whether `caller`, of role `role` in `project`, may perform `action`.
fn decide_on(
    caller: &Caller,
    project: Project,
    role: Option<crate::domain::access::Role>,
    action: Action,
) -> Result<Project, ApiError> {
    let requester = Requester {
        authenticated: caller.agent().is_some(),
        admin: caller.is_admin(),
        role,
    };
    match decide(requester, project.public, action) {
        Decision::Allow => Ok(project),
        Decision::Hidden => Err(ApiError::NotFound(Resource::Project)),
        Decision::Unauthenticated => Err(AuthError::Missing.into()),
        Decision::Forbidden => Err(ApiError::Forbidden),
    }
}

/// Resolves the caller and authorizes `action` in one step.
pub fn project_for(
    conn: &mut DbConnection,
    credentials: &Credentials,
    project_id: &str,
    action: Action,
) -> Result<(Caller, Project), ApiError> {
    project_for_caller(conn, credentials, project_id, |_| action)
}

/// Resolves the caller and authorizes on the project the action `action`
/// decides for them. A token of this service is checked in the project's
/// statement (`db::projects::find_with_caller`: its agent, its revocation,
/// the project and the caller's role), so nothing is cached that another
/// instance could make stale; an anonymous or external caller is resolved
/// first, then the project read.
pub fn project_for_caller(
    conn: &mut DbConnection,
    credentials: &Credentials,
    project_id: &str,
    action: impl FnOnce(&Caller) -> Action,
) -> Result<(Caller, Project), ApiError> {
    let Some(claims) = credentials.0.as_ref().filter(|claims| !claims.external) else {
        let caller = Caller::resolve(conn, credentials)?;
        let project = authorize(conn, &caller, project_id, action(&caller))?;
        return Ok((caller, project));
    };
    let found =
        db::projects::find_with_caller(conn, project_id, &claims.sub, claims.jti.as_deref())?;
    let Some(found) = found else {
        // No such project: a token that is not good is refused first (401),
        // as it would be with the caller read on its own.
        Caller::resolve(conn, credentials)?;
        return Err(ApiError::NotFound(Resource::Project));
    };
    let caller = Caller::Agent(signed_in_agent(claims, found.agent)?);
    let action = action(&caller);
    let project = decide_on(&caller, found.project, found.role, action)?;
    Ok((caller, project))
}
