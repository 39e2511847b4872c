//! `/v1/projects/{project_id}/grants/{grant_id}/releases`: money a funder
//! let out of its restricted grant's pool into the general pool (with its
//! written consent, say). Each posts one `release` transaction; restricted
//! money leaves its pool by no generic transfer.

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::call::{ProjectPage, ProjectWrite, Units, WriteCall};
use super::codes::Resource;
use super::dto::PageQuery;
use super::extract::{CursorKey, parse_date};
use super::funds::{self, RejectionRequest};
use super::openapi::{GrantNotFound, OwnersAndTreasurers};
use super::problem::{ApiError, Problem};
use super::write::Reply;
use crate::db::funds::ReleaseRow;
use crate::db::projects::Project;
use crate::db::{self, DbConnection};
use crate::domain::access::Action;
use crate::http::reply::in_project;
use crate::ops::funds::{Decision, NewRelease};
use crate::ops::{self, FieldProblem};

/// Longest reason of a release, in characters.
pub const RELEASE_REASON_LENGTH_MAX: usize = 1_000;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_release)
        .service(list_releases)
        .service(approve_release)
        .service(reject_release);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": "500.00", "currency": "EUR", "date": "2026-06-30", "reason": "letter of Fondation Horizon, 2026-06-12"}))]
pub struct CreateReleaseRequest {
    /// Positive decimal string with at most the currency's decimals, at most
    /// 10^15 minor units and 40 characters; at most what the pool holds.
    #[schema(example = "500.00", pattern = r"^[0-9]+(\.[0-9]+)?$", max_length = 40)]
    pub amount: String,
    /// Default: the grant's currency (the only one its pool holds).
    #[schema(example = "EUR", max_length = 8)]
    pub currency: Option<String>,
    #[schema(example = "2026-06-30", format = Date, max_length = 10)]
    pub date: String,
    /// Why the money may go, e.g. the funder's written consent.
    #[schema(example = "letter of Fondation Horizon, 2026-06-12", max_length = 1000)]
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Release {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub grant: String,
    pub amount: String,
    pub currency: String,
    #[schema(format = Date)]
    pub date: String,
    pub reason: String,
    /// The `release` ledger transaction, from the grant's pool to the
    /// general pool; null while pending or once rejected.
    #[schema(format = Uuid)]
    pub transaction: Option<String>,
    /// `pending` until another owner or treasurer approves it (four eyes:
    /// every release waits), then `posted`; `rejected` if refused.
    #[schema(example = "pending")]
    pub status: String,
    /// Who approved or rejected it.
    #[schema(format = Uuid)]
    pub decided_by: Option<String>,
    pub rejection_reason: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReleasePage {
    pub items: Vec<Release>,
    pub next_cursor: Option<String>,
}

fn to_release(units: &Units, row: ReleaseRow) -> Release {
    Release {
        amount: super::format_minor(units, &row.currency, row.amount),
        date: row.date.to_string(),
        id: row.id,
        grant: row.grant_id,
        currency: row.currency,
        reason: row.reason,
        transaction: row.transaction_id,
        status: row.status.as_str().to_owned(),
        decided_by: row.decided_by,
        rejection_reason: row.rejection_reason,
    }
}

/// Ask to release restricted money
///
/// Asks to release money of a restricted grant to the general pool (owners and
/// treasurers). Four eyes: it is recorded `pending` and posts nothing until
/// another owner or treasurer approves it.
#[utoipa::path(
    tag = "funds",
    request_body = CreateReleaseRequest,
    params(
        ("grant_id" = String, Path, format = Uuid, description = "Grant id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The release, pending", body = Release),
        OwnersAndTreasurers, GrantNotFound,
        (status = 409, description = "`account_conflict` (a hand-made general pool of other flags or currency), or idempotent request in flight", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`not_restricted` (the grant's money is already general), `currency_mismatch` (a currency the grant holds none of), `amount_precision`, `invalid_date`, `too_long`, ...", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project_id}/grants/{grant_id}/releases")]
pub async fn create_release(
    write: ProjectWrite<CreateReleaseRequest>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let ProjectWrite { body, call } = write;
    let (_, grant) = path.into_inner();
    let mut errors = Vec::new();
    let date = parse_date("date", &body.date)
        .map_err(|e| errors.push(e))
        .ok();
    let reason = funds::text(
        "reason",
        &body.reason,
        RELEASE_REASON_LENGTH_MAX,
        &mut errors,
    );
    let release = NewRelease {
        grant,
        amount: body.amount,
        currency: body.currency,
        date,
        reason,
        problems: errors.into_iter().map(FieldProblem::from).collect(),
    };
    call.run(Action::WriteLedger, move |conn, caller, project| {
        let recorder = caller.signed_in()?.id.clone();
        let row = ops::funds::release(conn, project, &recorder, &release)?;
        let release = to_release(&super::stored_units(conn)?, row);
        // A release has no `GET` of its own: its grant's release list holds it.
        let location = in_project(
            &project.id,
            format_args!("grants/{}/releases", release.grant),
        );
        Reply::created(location, &release)
    })
    .await
}

/// List a grant's releases
///
/// A grant's releases oldest first, with their status.
#[utoipa::path(
    tag = "funds",
    params(
        ("grant_id" = String, Path, format = Uuid, description = "Grant id"),
        PageQuery,
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of releases", body = ReleasePage),
        GrantNotFound,
    )
)]
#[get("/projects/{project_id}/grants/{grant_id}/releases")]
pub async fn list_releases(
    page: ProjectPage,
    path: web::Path<(String, String)>,
) -> Result<web::Json<ReleasePage>, ApiError> {
    let (_, grant_id) = path.into_inner();
    let fetch = move |conn: &mut DbConnection, project: &Project, after: Option<&str>, limit| {
        let grant = db::funds::grant(conn, &project.id, &grant_id)?
            .ok_or(ApiError::NotFound(Resource::Grant))?;
        let units = super::stored_units(conn)?;
        let rows = db::funds::list_releases(conn, &project.id, &grant.id, after, limit)?;
        Ok(rows
            .into_iter()
            .map(|row| to_release(&units, row))
            .collect())
    };
    let page = page
        .read(Action::ReadLedger, CursorKey::Id, fetch, |r| r.id.clone())
        .await?;
    Ok(web::Json(ReleasePage {
        items: page.rows,
        next_cursor: page.next_cursor,
    }))
}

/// Approve a release
///
/// Approves a pending release: its transaction is posted now, the grant's pool
/// checked then (owners and treasurers other than its recorder).
#[utoipa::path(
    tag = "funds",
    params(
        ("grant_id" = String, Path, format = Uuid, description = "Grant id"),
        ("release_id" = String, Path, format = Uuid, description = "Release id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The release, posted", body = Release),
        (status = 403, description = "`forbidden`, or `self_approval` (its recorder)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`project_not_found` or `release_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_decided`, `account_conflict`, or idempotent request in flight", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`insufficient_funds` (more than the grant's pool holds free now)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project_id}/grants/{grant_id}/releases/{release_id}/approvals")]
pub async fn approve_release(
    write: ProjectWrite<serde_json::Map<String, serde_json::Value>>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    decide(write.call, path, Decision::Approve).await
}

/// Reject a release
///
/// Rejects a pending release for a reason: nothing is posted (owners and
/// treasurers other than its recorder).
#[utoipa::path(
    tag = "funds",
    request_body = RejectionRequest,
    params(
        ("grant_id" = String, Path, format = Uuid, description = "Grant id"),
        ("release_id" = String, Path, format = Uuid, description = "Release id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The release, rejected", body = Release),
        (status = 403, description = "`forbidden`, or `self_approval` (its recorder)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`project_not_found` or `release_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_decided`, or idempotent request in flight", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`required` or `too_long` (`reason`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project_id}/grants/{grant_id}/releases/{release_id}/rejections")]
pub async fn reject_release(
    write: ProjectWrite<RejectionRequest>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let ProjectWrite { body, call } = write;
    decide(call, path, funds::rejection(&body)?).await
}

async fn decide(
    call: WriteCall,
    path: web::Path<(String, String, String)>,
    decision: Decision,
) -> Result<HttpResponse, ApiError> {
    let (_, grant, id) = path.into_inner();
    call.run(Action::Review, move |conn, caller, project| {
        let by = caller.signed_in()?.id.clone();
        let row = ops::funds::decide_release(conn, project, &by, &grant, &id, &decision)?;
        let release = to_release(&super::stored_units(conn)?, row);
        // A release has no `GET` of its own: its grant's release list holds it.
        let location = in_project(
            &project.id,
            format_args!("grants/{}/releases", release.grant),
        );
        Reply::created(location, &release)
    })
    .await
}
