//! `/v1/projects/{project_id}/grants/{grant_id}/releases`: money a funder
//! let out of its restricted grant's pool into the general pool (with its
//! written consent, say). Each posts one `release` transaction; restricted
//! money leaves its pool by no generic transfer.

use actix_web::{HttpResponse, get, post, web};
use commons_ledger_macros::operation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::call::{ItemWrite, ProjectPage, ProjectWrite, Units, WriteCall};
use super::dto::PageQuery;
use super::dto::page_type;
use super::extract::date_field;
use super::funds::{self, RejectionRequest};
use super::grants::{GrantItems, grant_page};
use super::openapi::{
    FourEyesRefusals, GrantNotFound, OwnersAndTreasurers, RejectionReasonRefused,
};
use super::problem::{ApiError, Problem};
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

page_type!(ReleasePage, Release);

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
#[operation(post "/projects/{project_id}/grants/{grant_id}/releases", tag = "funds",
    request_body = CreateReleaseRequest, signed_in, params(id "grant_id" "Grant id"),
    responses(
        201 Release "The release, pending",
        OwnersAndTreasurers,
        GrantNotFound,
        409 "`account_conflict` (a hand-made general pool of other flags or currency), or idempotent request in flight",
        422 "`not_restricted` (the grant's money is already general), `currency_mismatch` (a currency the grant holds none of), `amount_precision`, `invalid_date`, `too_long`, ...",
    ))]
pub async fn create_release(
    ItemWrite {
        body,
        call,
        id: grant,
    }: ItemWrite<CreateReleaseRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    let date = date_field("date", &body.date, &mut errors);
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
    funds::created_by(call, Action::WriteLedger, move |conn, project, recorder| {
        let row = ops::funds::release(conn, project, recorder, &release)?;
        listed(conn, project, row)
    })
    .await
}

/// List a grant's releases
///
/// A grant's releases oldest first, with their status.
#[operation(get "/projects/{project_id}/grants/{grant_id}/releases", tag = "funds", public,
    params(id "grant_id" "Grant id", PageQuery),
    responses(200 ReleasePage "A page of releases", GrantNotFound))]
pub async fn list_releases(
    page: ProjectPage,
    path: web::Path<(String, String)>,
) -> Result<web::Json<ReleasePage>, ApiError> {
    let fetch: GrantItems<_> = |conn, project, grant, after, limit| {
        let units = super::stored_units(conn)?;
        let rows = db::funds::list_releases(conn, &project.id, &grant.id, after, limit)?;
        Ok(rows
            .into_iter()
            .map(|row| to_release(&units, row))
            .collect())
    };
    let page = grant_page(page, path, fetch, |r| r.id.clone()).await?;
    Ok(web::Json(page.into()))
}

/// Approve a release
///
/// Approves a pending release: its transaction is posted now, the grant's pool
/// checked then (owners and treasurers other than its recorder).
#[operation(post "/projects/{project_id}/grants/{grant_id}/releases/{release_id}/approvals",
    tag = "funds", signed_in, params(id "grant_id" "Grant id", id "release_id" "Release id"),
    responses(
        201 Release "The release, posted",
        403 "`forbidden`, or `self_approval` (its recorder)",
        404 "`project_not_found` or `release_not_found`",
        409 "`already_decided`, `account_conflict`, or idempotent request in flight",
        422 "`insufficient_funds` (more than the grant's pool holds free now)",
    ))]
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
#[operation(post "/projects/{project_id}/grants/{grant_id}/releases/{release_id}/rejections",
    tag = "funds", request_body = RejectionRequest, signed_in,
    params(id "grant_id" "Grant id", id "release_id" "Release id"),
    responses(
        201 Release "The release, rejected",
        FourEyesRefusals,
        404 "`project_not_found` or `release_not_found`",
        RejectionReasonRefused,
    ))]
pub async fn reject_release(
    ProjectWrite { body, call }: ProjectWrite<RejectionRequest>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    decide(call, path, funds::rejection(&body)?).await
}

async fn decide(
    call: WriteCall,
    path: web::Path<(String, String, String)>,
    decision: Decision,
) -> Result<HttpResponse, ApiError> {
    let (_, grant, id) = path.into_inner();
    funds::created_by(call, Action::Review, move |conn, project, by| {
        let row = ops::funds::decide_release(conn, project, by, &grant, &id, &decision)?;
        listed(conn, project, row)
    })
    .await
}

/// The release `row` as answered, and where it is listed: a release has no
/// `GET` of its own, its grant's release list holds it.
fn listed(
    conn: &mut DbConnection,
    project: &Project,
    row: ReleaseRow,
) -> Result<(String, Release), ApiError> {
    let release = to_release(&super::stored_units(conn)?, row);
    let location = in_project(
        &project.id,
        format_args!("grants/{}/releases", release.grant),
    );
    Ok((location, release))
}
