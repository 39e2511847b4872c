//! `/v1/projects/{project_id}/members`: who belongs to a project, in which
//! role. Owners change and remove members and invite new ones
//! (`routes::invitations`): nobody becomes a member without accepting,
//! except by an instance administrator's direct add. A project always keeps
//! one owner. Roles are read from the database on every request, so a
//! removal or a lowered role applies from the next request on, in this
//! project only: the member's tokens, and their access to their other
//! projects, are untouched.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use commons_ledger_macros::operation;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::audit::{Change, state_of};
use super::call::{ProjectChange, ProjectPage, ProjectWrite};
use super::codes::Resource;
use super::dto::PageQuery;
use super::dto::page_type;
use super::dto::{Member, RoleDto, agent_name, to_member};
use super::extract::JsonBody;
use super::openapi::OwnersOnly;
use super::problem::{ApiError, Problem};
use super::write::Reply;
use crate::db::memberships::MembershipRow;
use crate::db::{self, DbConnection};
use crate::domain::access::{Action, Role};
use crate::http::reply::in_project;
use crate::ops;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(add_member)
        .service(list_members)
        .service(update_member)
        .service(remove_member);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"agent": "7d9e1b2c-3a4f-4b5c-8d6e-9f0a1b2c3d4e", "role": "contributor"}))]
pub struct AddMemberRequest {
    /// The agent to add.
    #[schema(format = Uuid, max_length = 36)]
    pub agent: String,
    pub role: RoleDto,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "treasurer"}))]
pub struct UpdateMemberRequest {
    pub role: RoleDto,
}

page_type!(MemberPage, Member);

/// Refuses a change that would leave the project without an owner.
fn keep_an_owner(
    conn: &mut DbConnection,
    project_id: &str,
    current: &MembershipRow,
    new_role: Option<Role>,
) -> Result<(), ApiError> {
    let losing_owner = current.role == Role::Owner && new_role != Some(Role::Owner);
    if losing_owner && db::memberships::owner_count(conn, project_id)? <= 1 {
        return Err(ApiError::LastOwner);
    }
    Ok(())
}

/// Add a member
///
/// Adds an agent to a project directly, without an invitation (instance
/// administrators only; owners invite).
#[operation(post "/projects/{project_id}/members", tag = "members",
    request_body = AddMemberRequest, signed_in,
    responses(
        201 Member "The membership",
        403 "`admin_only`: owners invite instead (`create_invitation`); `forbidden` for other roles",
        409 "`member_exists`, or idempotent request in flight",
        422 "`unknown_agent`, invalid role, `idempotency_key_reused`",
    ))]
pub async fn add_member(
    ProjectWrite { body, call }: ProjectWrite<AddMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    super::limits::check_id("agent", &body.agent)?;
    call.run(Action::ManageMembers, move |conn, caller, project| {
        if !caller.is_admin() {
            return Err(ApiError::AdminOnly(
                "add a member without their consent; invite them instead (POST /v1/projects/{project_id}/invitations)",
            ));
        }
        let agent = ops::members::newcomer(conn, &project.id, &body.agent)?;
        // A pending invitation is superseded by the membership.
        if let Some(invitation) = db::invitations::find_for(conn, &project.id, &agent.id)? {
            db::invitations::delete(conn, &invitation.id)?;
        }
        let role = Role::from(body.role);
        let row = db::memberships::insert(conn, &project.id, &agent.id, role)?;
        // A membership has no `GET` of its own: the member list holds it.
        Reply::created(
            in_project(&project.id, format_args!("members")),
            &to_member(row, agent.name),
        )
    })
    .await
}

/// List members
///
/// A project's members with their roles (members and administrators).
#[operation(get "/projects/{project_id}/members", tag = "members", signed_in, params(PageQuery),
    responses(
        200 MemberPage "A page of members",
        403 "`forbidden`: a public project's members are shown to members only",
    ))]
pub async fn list_members(page: ProjectPage) -> Result<web::Json<MemberPage>, ApiError> {
    let page = page
        .list(
            Action::ReadMembers,
            db::memberships::list,
            |_, (row, name, _)| to_member(row, name),
            |member| &member.agent,
        )
        .await?;
    Ok(web::Json(page.into()))
}

/// Change a member's role
///
/// Changes a member's role (owners). The last owner cannot be demoted.
#[operation(patch "/projects/{project_id}/members/{agent_id}", tag = "members",
    request_body = UpdateMemberRequest, signed_in, params(id "agent_id" "Member's agent id"),
    responses(
        200 Member "The membership",
        OwnersOnly,
        404 "`project_not_found` or `member_not_found`",
        409 "`last_owner`",
        422 "Invalid role",
    ))]
pub async fn update_member(
    change: ProjectChange,
    path: web::Path<(String, String)>,
    body: JsonBody<UpdateMemberRequest>,
) -> Result<web::Json<Member>, ApiError> {
    let (_, agent_id) = path.into_inner();
    let role = Role::from(body.value.role);
    let member = change
        .write(Action::ManageMembers, move |conn, _, project| {
            let current = member_row(conn, &project.id, &agent_id)?;
            let name = agent_name(conn, &agent_id)?;
            let before = Some(state_of(&to_member(current.clone(), name.clone()))?);
            if current.role == role {
                let after = to_member(current, name);
                return Ok(Change { before, after });
            }
            keep_an_owner(conn, &project.id, &current, Some(role))?;
            // The new role applies from the next request on, here only.
            let row = db::memberships::update_role(conn, &project.id, &agent_id, role)?;
            let after = to_member(row, name);
            Ok(Change { before, after })
        })
        .await?;
    Ok(web::Json(member))
}

/// The membership of `agent_id` in the project, or 404 `member_not_found`.
fn member_row(
    conn: &mut DbConnection,
    project_id: &str,
    agent_id: &str,
) -> Result<MembershipRow, ApiError> {
    db::memberships::find(conn, project_id, agent_id)?.ok_or(ApiError::NotFound(Resource::Member))
}

/// Remove a member
///
/// Removes a member from a project (owners). The last owner cannot be removed;
/// the member's history stays in the ledger.
#[operation(delete "/projects/{project_id}/members/{agent_id}", tag = "members", signed_in,
    params(id "agent_id" "Member's agent id"),
    responses(
        (status = 204, description = "Removed"),
        OwnersOnly,
        404 "`project_not_found` or `member_not_found`",
        409 "`last_owner`",
    ))]
pub async fn remove_member(
    change: ProjectChange,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (_, agent_id) = path.into_inner();
    change
        .write(Action::ManageMembers, move |conn, _, project| {
            let current = member_row(conn, &project.id, &agent_id)?;
            let name = agent_name(conn, &agent_id)?;
            let before = Some(state_of(&to_member(current.clone(), name))?);
            keep_an_owner(conn, &project.id, &current, None)?;
            // Their access to this project ends with the next request; their
            // tokens, and their other projects, are not touched.
            db::memberships::delete(conn, &project.id, &agent_id)?;
            Ok(Change { before, after: () })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
