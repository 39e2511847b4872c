//! `/v1/agents`: people and organisations (funders are organisations).
//! Anyone signed in may record an agent; only administrators give one an
//! email, a password or administrator rights.

use actix_web::{HttpResponse, get, post, web};
use commons_ledger_macros::operation;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::access::Caller;
use super::call::{SignedIn, SignedInWrite};
use super::codes::{FieldCode, Resource};
use super::dto::page_type;
use super::dto::{Agent, AgentKindDto, PageQuery, to_agent};
use super::extract::{CursorKey, next_cursor};
use super::problem::{ApiError, FieldError, Problem};
use super::write::Reply;
use crate::db::agents::{AgentRow, NewAgent};
use crate::db::{self};
use crate::domain::agent::{AGENT_NAME_LENGTH_MAX, AgentKind, Email, Password};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_agent)
        .service(list_agents)
        .service(get_agent);
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "person", "name": "Camille Martin", "email": "camille@openair-lyon.org", "password": "correct horse battery staple"}))]
pub struct CreateAgentRequest {
    pub kind: AgentKindDto,
    /// Display name, 1 to 200 characters.
    #[schema(example = "Fondation Horizon", max_length = 200)]
    pub name: String,
    /// Sign-in email (administrators only). Organisations may sign in too,
    /// e.g. a funder's shared login.
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// Password, 12 to 1024 characters (administrators only; needs `email`).
    #[schema(format = Password, write_only, min_length = 12, max_length = 1024)]
    pub password: Option<String>,
    /// Make the person an instance administrator (administrators only).
    #[serde(default)]
    pub admin: bool,
}

page_type!(AgentPage, Agent);

/// Refuses a caller who is not an instance administrator what only one may
/// do when recording an agent.
fn require_admin(caller: &AgentRow) -> Result<(), ApiError> {
    if !caller.is_admin {
        return Err(ApiError::AdminOnly(
            "give an agent an email, a password or administrator rights",
        ));
    }
    Ok(())
}

/// Record an agent
///
/// Records a person or an organisation, such as a funder, so that projects can
/// name it. Any signed-in caller may record one without credentials; giving it
/// an email, a password or administrator rights takes an administrator. With a
/// password the agent can sign in; an email is unique across the instance.
#[operation(post "/agents", tag = "agents", request_body = CreateAgentRequest, signed_in,
    responses(
        201 Agent "The agent",
        403 "`admin_only`: credentials and administrator rights",
        409 "`email_taken`, or idempotent request in flight",
        422 "`invalid_name`, `invalid_email`, `invalid_password`",
        503 "`sign_in_busy`: every password hasher is taken; see `Retry-After`; or `request_timeout`, `database_busy`, `service_unavailable`, `read_only_instance` (a read-only instance)",
    ))]
pub async fn create_agent(
    write: SignedInWrite<CreateAgentRequest>,
) -> Result<HttpResponse, ApiError> {
    let SignedInWrite { body, call } = write;
    let (kind, name, email, password) = parse_agent(&body)?;
    let privileged = email.is_some() || password.is_some() || body.admin;
    // Check the right before hashing: hashing is slow and memory-hungry on
    // purpose, and must not be available to callers who would be refused.
    if privileged {
        (call.signed_in.clone())
            .read(|_, caller| require_admin(&caller))
            .await?;
    }
    // Hash outside the database transaction.
    let password_hash = match password {
        Some(password) => Some(
            (call.signed_in.state.hashers.hash(password).await?)
                .map_err(|why| ApiError::internal(format!("hashing a password: {why}")))?,
        ),
        None => None,
    };
    call.run(move |conn, caller| {
        if privileged {
            require_admin(&caller)?;
        }
        let new = NewAgent {
            kind: kind.as_str(),
            name: &name,
            email: email.as_ref().map(Email::as_str),
            password_hash: password_hash.as_deref(),
            is_admin: body.admin,
            created_by: Some(caller.id.as_str()),
        };
        let row = db::agents::insert_unique(conn, &new)?.ok_or(ApiError::EmailTaken)?;
        let agent = to_agent(row, &Caller::Agent(caller));
        Reply::created(format!("/v1/agents/{}", agent.id), &agent)
    })
    .await
}

/// An agent request checked field by field: its kind, name, email and
/// password, or every problem.
fn parse_agent(
    request: &CreateAgentRequest,
) -> Result<(AgentKind, String, Option<Email>, Option<Password>), ApiError> {
    let kind = AgentKind::from(request.kind);
    let mut errors = Vec::new();
    let name = request.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > AGENT_NAME_LENGTH_MAX {
        errors.push(FieldError::new(
            "name",
            FieldCode::InvalidName,
            format!("a name is 1 to {AGENT_NAME_LENGTH_MAX} characters"),
        ));
    }
    let email = (request.email.as_deref()).and_then(|text| {
        Email::parse(text)
            .map_err(|e| errors.push(FieldError::new("email", FieldCode::InvalidEmail, e)))
            .ok()
    });
    let password = (request.password.as_deref()).and_then(|text| {
        Password::parse(text)
            .map_err(|e| errors.push(FieldError::new("password", FieldCode::InvalidPassword, e)))
            .ok()
    });
    if kind == AgentKind::Organisation && request.admin {
        errors.push(FieldError::new(
            "admin",
            FieldCode::InvalidAdmin,
            "administrators are people",
        ));
    }
    if request.password.is_some() && request.email.is_none() {
        errors.push(FieldError::new(
            "email",
            FieldCode::InvalidEmail,
            "a password needs an email to sign in with",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok((kind, name, email, password))
}

/// List agents
///
/// Every agent for administrators; for anyone else, themself and the members of
/// the projects they are a member of. Paged by `cursor` and `limit`, oldest
/// first.
#[operation(get "/agents", tag = "agents", signed_in, params(PageQuery),
    responses(200 AgentPage "A page of agents"))]
pub async fn list_agents(
    signed_in: SignedIn,
    query: web::Query<PageQuery>,
) -> Result<web::Json<AgentPage>, ApiError> {
    let (limit, after) = query.check(CursorKey::Id)?;
    let (caller, rows) = signed_in
        .read(move |conn, agent| {
            let scope = if agent.is_admin {
                db::agents::Listing::All
            } else {
                db::agents::Listing::SharingAProjectWith(agent.id.to_string())
            };
            let rows = db::agents::list(conn, &scope, after.as_deref(), limit)?;
            Ok((Caller::Agent(agent), rows))
        })
        .await?;
    let next_cursor = next_cursor(&rows, limit, |row| row.id.to_string());
    Ok(web::Json(AgentPage {
        items: rows.into_iter().map(|row| to_agent(row, &caller)).collect(),
        next_cursor,
    }))
}

/// Get an agent
///
/// One agent by id, to administrators; to anyone else signed in, only
/// themself, an agent they recorded, a member of one of their projects, or
/// an agent one of their projects names (a grant's funder, a contributor).
/// Any other id answers 404 `agent_not_found`, as an unknown one does: a
/// public project's books carry agent ids, and only the project decides
/// whether its contributors are named (`GET .../contributors`).
#[operation(get "/agents/{agent_id}", tag = "agents", signed_in, params(id "agent_id" "Agent id"),
    responses(200 Agent "The agent", 404 "`agent_not_found`"))]
pub async fn get_agent(
    signed_in: SignedIn,
    path: web::Path<String>,
) -> Result<web::Json<Agent>, ApiError> {
    let agent_id = path.into_inner();
    let agent = signed_in
        .read(move |conn, caller| {
            let visible = caller.is_admin || db::agents::visible_to(conn, &agent_id, &caller.id)?;
            let row = db::agents::find(conn, &agent_id)?
                .filter(|_| visible)
                .ok_or(ApiError::NotFound(Resource::Agent))?;
            Ok(to_agent(row, &Caller::Agent(caller)))
        })
        .await?;
    Ok(web::Json(agent))
}
