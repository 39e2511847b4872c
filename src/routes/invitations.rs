//! Invitations: nobody becomes a member of a project without consenting.
//! An owner invites an agent with a role (`POST .../invitations`); the agent
//! sees it in `GET /v1/me/invitations` and accepts it, becoming a member
//! with that role, or declines it; until then the project stays hidden from
//! them and nothing about their access changes. Owners may withdraw a
//! pending invitation. Instance administrators may also add a member
//! directly (`add_member`), without an invitation.

use commons_ledger_macros::operation;
use std::collections::HashMap;

use actix_web::{HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::audit::Change;
use super::call::{ProjectChange, ProjectPage, ProjectWrite, SignedIn, SignedInWrite};
use super::codes::Resource;
use super::dto::page_type;
use super::dto::{Member, member_of};
use super::dto::{PageQuery, RoleDto};
use super::extract::{CursorKey, next_cursor};
use super::limits::check_id;
use super::openapi::OwnersOnly;
use super::problem::{ApiError, Problem};
use super::write::Reply;
use crate::db::agents::AgentRow;
use crate::db::invitations::InvitationRow;
use crate::db::projects::Project;
use crate::db::{self, DbConnection, OnDuplicate};
use crate::domain::access::{Action, Role};
use crate::http::reply::in_project;
use crate::ops;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_invitation)
        .service(list_invitations)
        .service(withdraw_invitation)
        .service(list_my_invitations)
        .service(create_acceptance)
        .service(decline_invitation);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"agent": "7d9e1b2c-3a4f-4b5c-8d6e-9f0a1b2c3d4e", "role": "contributor"}))]
pub struct CreateInvitationRequest {
    /// The agent invited.
    #[schema(format = Uuid, max_length = 36)]
    pub agent: String,
    /// The role they will have once they accept.
    pub role: RoleDto,
}

/// A pending invitation to join a project.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Invitation {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub project_id: String,
    pub project_name: String,
    /// The agent invited.
    #[schema(format = Uuid)]
    pub agent: String,
    /// The invitee's name, shown to the invitee (`GET /v1/me/invitations`)
    /// and null to the project: an inviter holding an agent's id learns no
    /// name by inviting it, and the member list names them once they accept.
    pub agent_name: Option<String>,
    /// The role they will have once they accept.
    pub role: RoleDto,
    /// Who invited them.
    #[schema(format = Uuid)]
    pub invited_by: String,
    pub invited_by_name: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

page_type!(InvitationPage, Invitation);

/// Who reads an invitation: the invitee sees their own name on it, the
/// project does not.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reader {
    Invitee,
    Project,
}

/// The response shapes of `rows`, with the inviters' names, and the
/// invitees' for the invitee.
fn to_invitations(
    conn: &mut DbConnection,
    rows: Vec<(InvitationRow, String)>,
    reader: Reader,
) -> Result<Vec<Invitation>, ApiError> {
    let mut ids: Vec<String> = rows
        .iter()
        .flat_map(|(row, _)| [row.agent_id.clone(), row.invited_by.clone()])
        .collect();
    ids.sort();
    ids.dedup();
    let names: HashMap<String, String> = db::agents::names(conn, &ids)?.into_iter().collect();
    let name = |id: &str| names.get(id).cloned().unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(|(row, project_name)| Invitation {
            agent_name: (reader == Reader::Invitee).then(|| name(&row.agent_id)),
            invited_by_name: name(&row.invited_by),
            role: RoleDto::from(row.role),
            created_at: db::format_timestamp(row.created_at),
            id: row.id,
            project_id: row.project_id,
            project_name,
            agent: row.agent_id,
            invited_by: row.invited_by,
        })
        .collect())
}

/// An invitation as the event of its removal records it.
fn invitation_state(row: &InvitationRow) -> serde_json::Value {
    serde_json::json!({
        "id": row.id,
        "agent": row.agent_id,
        "role": row.role.as_str(),
        "invited_by": row.invited_by,
        "created_at": db::format_timestamp(row.created_at),
    })
}

/// Invite an agent
///
/// Invites an agent to a project with a role (owners); they become a member
/// when they accept.
#[operation(post "/projects/{project_id}/invitations", tag = "members",
    request_body = CreateInvitationRequest, signed_in,
    responses(
        201 Invitation "The pending invitation",
        OwnersOnly,
        409 "`member_exists`, `invitation_exists`, or idempotent request in flight",
        422 "`unknown_agent`, `too_long`, invalid role, `idempotency_key_reused`",
    ))]
pub async fn create_invitation(
    ProjectWrite { body, call }: ProjectWrite<CreateInvitationRequest>,
) -> Result<HttpResponse, ApiError> {
    check_id("agent", &body.agent)?;
    call.run(Action::ManageMembers, move |conn, caller, project| {
        let inviter = caller.signed_in()?.id.clone();
        let agent = ops::members::newcomer(conn, &project.id, &body.agent)?;
        if db::invitations::find_for(conn, &project.id, &agent.id)?.is_some() {
            return Err(ApiError::InvitationExists(agent.id.into_string()));
        }
        let role = Role::from(body.role);
        let row = db::invitations::insert(conn, &project.id, &agent.id, role, &inviter)
            .on_duplicate(|| ApiError::InvitationExists(agent.id.to_string()))?;
        let invitation = to_invitations(conn, vec![(row, project.name.clone())], Reader::Project)?
            .pop()
            .ok_or_else(|| ApiError::internal("invitation vanished"))?;
        // An invitation has no `GET` of its own: the project's list holds it.
        Reply::created(
            in_project(&project.id, format_args!("invitations")),
            &invitation,
        )
    })
    .await
}

/// List invitations
///
/// A project's pending invitations (members and administrators), oldest first.
#[operation(get "/projects/{project_id}/invitations", tag = "members", signed_in,
    params(PageQuery),
    responses(
        200 InvitationPage "A page of pending invitations",
        400 "Invalid `limit` or `cursor`",
        403 "`forbidden`: a public project's invitations are shown to members only",
    ))]
pub async fn list_invitations(page: ProjectPage) -> Result<web::Json<InvitationPage>, ApiError> {
    let fetch = |conn: &mut DbConnection, project: &Project, after: Option<&str>, limit| {
        let rows = db::invitations::of_project(conn, &project.id, after, limit)?
            .into_iter()
            .map(|row| (row, project.name.clone()))
            .collect();
        to_invitations(conn, rows, Reader::Project)
    };
    let page = page
        .read(Action::ReadMembers, CursorKey::Id, fetch, |i| i.id.clone())
        .await?;
    Ok(web::Json(page.into()))
}

/// Withdraw an invitation
///
/// Withdraws a pending invitation (owners); the invited agent no longer sees
/// it.
#[operation(delete "/projects/{project_id}/invitations/{invitation_id}", tag = "members",
    signed_in, params(id "invitation_id" "Invitation id"),
    responses(
        (status = 204, description = "Withdrawn"),
        OwnersOnly,
        404 "`project_not_found` or `invitation_not_found`",
    ))]
pub async fn withdraw_invitation(
    change: ProjectChange,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (_, invitation_id) = path.into_inner();
    change
        .write(Action::ManageMembers, move |conn, _, project| {
            let invitation = db::invitations::find(conn, &invitation_id)?
                .filter(|row| project.id == row.project_id.as_str())
                .ok_or(ApiError::NotFound(Resource::Invitation))?;
            let before = Some(invitation_state(&invitation));
            db::invitations::delete(conn, &invitation.id)?;
            Ok(Change { before, after: () })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List my invitations
///
/// The caller's pending invitations, to accept or decline, oldest first.
#[operation(get "/me/invitations", tag = "auth", signed_in, params(PageQuery),
    responses(
        200 InvitationPage "A page of the caller's pending invitations",
        400 "Invalid `limit` or `cursor`",
    ))]
pub async fn list_my_invitations(
    signed_in: SignedIn,
    query: web::Query<PageQuery>,
) -> Result<web::Json<InvitationPage>, ApiError> {
    let (limit, after) = query.check(CursorKey::Id)?;
    let items = signed_in
        .read(move |conn, me| {
            let rows = db::invitations::of_agent(conn, &me.id, after.as_deref(), limit)?;
            to_invitations(conn, rows, Reader::Invitee)
        })
        .await?;
    let next_cursor = next_cursor(&items, limit, |item| item.id.clone());
    Ok(web::Json(InvitationPage { items, next_cursor }))
}

/// The caller's own pending invitation `invitation_id`: anyone else's is
/// not found, exactly like one that does not exist.
fn my_invitation(
    conn: &mut DbConnection,
    me: &AgentRow,
    invitation_id: &str,
) -> Result<InvitationRow, ApiError> {
    db::invitations::find(conn, invitation_id)?
        .filter(|row| me.id == row.agent_id.as_str())
        .ok_or(ApiError::NotFound(Resource::Invitation))
}

/// Accept an invitation
///
/// The caller becomes a member of the invitation's project with its role, and
/// the invitation is consumed. An invitation addressed to someone else answers
/// 404; accepting twice answers 409 unless replayed under the same
/// `Idempotency-Key`.
#[operation(post "/me/invitations/{invitation_id}/acceptance", tag = "auth", signed_in,
    params(id "invitation_id" "Invitation id"),
    responses(
        201 Member "The caller's new membership",
        400 "Malformed request",
        404 "`invitation_not_found`: none of the caller's",
        409 "`member_exists`, or idempotent request in flight",
    ))]
pub async fn create_acceptance(
    write: SignedInWrite<serde_json::Map<String, serde_json::Value>>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let invitation_id = path.into_inner();
    write
        .call
        .run_in_project(move |conn, me| {
            let invitation = my_invitation(conn, me, &invitation_id)?;
            let (project, agent) = (&invitation.project_id, &invitation.agent_id);
            if db::memberships::find(conn, project, agent)?.is_some() {
                return Err(ApiError::Refused(ops::Refusal::MemberExists(
                    invitation.agent_id,
                )));
            }
            let row = db::memberships::insert(conn, project, agent, invitation.role)?;
            db::invitations::delete(conn, &invitation.id)?;
            // A membership has no `GET` of its own: the member list holds it.
            let location = in_project(&invitation.project_id, format_args!("members"));
            let reply = Reply::created(location, &member_of(conn, row)?)?;
            Ok((invitation.project_id, reply))
        })
        .await
}

/// Decline an invitation
///
/// The invitation addressed to the caller is removed, and nothing else changes.
/// Another agent's invitation answers 404.
#[operation(delete "/me/invitations/{invitation_id}", tag = "auth", signed_in,
    params(id "invitation_id" "Invitation id"),
    responses(
        (status = 204, description = "Declined"),
        404 "`invitation_not_found`: none of the caller's",
    ))]
pub async fn decline_invitation(
    signed_in: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let invitation_id = path.into_inner();
    signed_in
        .write_in_project(move |conn, me| {
            let invitation = my_invitation(conn, me, &invitation_id)?;
            let before = Some(invitation_state(&invitation));
            db::invitations::delete(conn, &invitation.id)?;
            Ok((invitation.project_id, Change { before, after: () }))
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
