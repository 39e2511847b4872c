//! `/v1/projects/{project_id}/claims`: expense claims. A member claims back
//! money they spent for the project; an owner or treasurer other than the
//! claimant approves it (its expense is posted from a pool to what the
//! project owes the claimant, paid later by an ordinary payout) or rejects
//! it for a reason. A claim belongs to its claimant's value account: who
//! may read a member's value account may read their claims, and a member
//! reads their own.

use actix_web::{HttpResponse, get, post, web};
use commons_ledger_macros::operation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::access::{self, Caller};
use super::call::{ItemWrite, ProjectCall, ProjectPage, ProjectWrite, Units, WriteCall};
use super::codes::Resource;
use super::dto::PageQuery;
use super::dto::page_type;
use super::extract::{CursorKey, date_field, decode_cursor, next_cursor, page_size};
use super::funds;
use super::openapi::RejectionReasonRefused;
use super::problem::{ApiError, Problem};
use crate::db::claims::ClaimRow;
use crate::db::projects::Project;
use crate::db::{self, DbConnection};
use crate::domain::access::Action;
use crate::domain::claims::ClaimStatus;
use crate::http::reply::in_project;
use crate::ops::claims::{ClaimDecision, NewClaim};
use crate::ops::{self, FieldProblem};

/// Longest description or receipt reference of a claim, in characters.
pub const CLAIM_TEXT_LENGTH_MAX: usize = 1_000;
/// Longest reason for rejecting a claim, in characters.
pub const CLAIM_REJECTION_REASON_LENGTH_MAX: usize = 1_000;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_claim)
        .service(list_claims)
        .service(get_claim)
        .service(approve_claim)
        .service(reject_claim);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": "42.80", "currency": "EUR", "category": "parts", "date": "2026-03-14", "description": "soldering tips and flux for the sensor workshop", "receipt_reference": "receipts/2026-03-14-electronique-lyon.pdf"}))]
pub struct CreateClaimRequest {
    /// Positive decimal string with at most the currency's decimals, at most
    /// 10^15 minor units (10,000,000,000,000.00 EUR; 10^15 JPY) and 40 characters.
    #[schema(example = "42.80", pattern = r"^[0-9]+(\.[0-9]+)?$", max_length = 40)]
    pub amount: String,
    #[schema(example = "EUR", max_length = 8)]
    pub currency: String,
    /// One of the project's expense categories.
    #[schema(example = "parts", max_length = 100)]
    pub category: String,
    /// The day the money was spent.
    #[schema(example = "2026-03-14", format = Date, max_length = 10)]
    pub date: String,
    /// What the money was spent on (1 to 1000 characters).
    #[schema(
        example = "soldering tips and flux for the sensor workshop",
        max_length = 1000
    )]
    pub description: String,
    /// Where the receipt is kept: a file name, a URL, a number (1 to 1000 characters).
    #[schema(
        example = "receipts/2026-03-14-electronique-lyon.pdf",
        max_length = 1000
    )]
    pub receipt_reference: Option<String>,
}

/// Where a claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatusDto {
    Pending,
    Approved,
    Rejected,
}

impl From<ClaimStatus> for ClaimStatusDto {
    fn from(status: ClaimStatus) -> Self {
        match status {
            ClaimStatus::Pending => ClaimStatusDto::Pending,
            ClaimStatus::Approved => ClaimStatusDto::Approved,
            ClaimStatus::Rejected => ClaimStatusDto::Rejected,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Claim {
    #[schema(format = Uuid)]
    pub id: String,
    /// Who spent the money, and is owed it once the claim is approved.
    #[schema(format = Uuid)]
    pub claimant: String,
    pub amount: String,
    pub currency: String,
    pub category: String,
    #[schema(format = Date)]
    pub date: String,
    pub description: String,
    pub receipt_reference: Option<String>,
    /// `pending` until an owner or treasurer other than the claimant
    /// decides; then `approved` or `rejected`, for good.
    pub status: ClaimStatusDto,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Who approved or rejected it.
    #[schema(format = Uuid)]
    pub decided_by: Option<String>,
    #[schema(format = DateTime)]
    pub decided_at: Option<String>,
    /// The grant whose pool paid it, once approved; null for the general pool.
    #[schema(format = Uuid)]
    pub grant: Option<String>,
    /// The expense its approval recorded (listed by `GET .../expenses`).
    #[schema(format = Uuid)]
    pub expense: Option<String>,
    /// The `expense` ledger transaction its approval posted, from the pool
    /// to `contributor:<claimant>`.
    #[schema(format = Uuid)]
    pub transaction: Option<String>,
    pub rejection_reason: Option<String>,
}

page_type!(ClaimPage, Claim);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"grant": "2b6f8c1d-9e0a-4f3b-8c7d-1e2f3a4b5c6d"}))]
pub struct ApproveClaimRequest {
    /// Pay from this grant's money (its pool; the category must be one it
    /// allows); omit to pay from the general pool of the claim's currency.
    #[schema(format = Uuid, max_length = 36)]
    pub grant: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "no receipt"}))]
pub struct RejectClaimRequest {
    /// Why it is refused (1 to 1000 characters).
    #[schema(example = "no receipt", max_length = 1000)]
    pub reason: String,
}

fn to_claim(units: &Units, row: ClaimRow) -> Claim {
    Claim {
        amount: super::format_minor(units, &row.currency, row.amount),
        date: row.date.to_string(),
        created_at: db::format_timestamp(row.created_at),
        decided_at: row.decided_at.map(db::format_timestamp),
        status: row.status.into(),
        id: row.id,
        claimant: row.claimant_id,
        currency: row.currency,
        category: row.category,
        description: row.description,
        receipt_reference: row.receipt_reference,
        decided_by: row.decided_by,
        grant: row.grant_id,
        expense: row.expense_id,
        transaction: row.transaction_id,
        rejection_reason: row.rejection_reason,
    }
}

/// Submit an expense claim
///
/// Claims back money the caller spent for the project (contributors, treasurers
/// and owners). It is pending until another owner or treasurer approves or
/// rejects it; nothing is posted until then.
#[operation(post "/projects/{project_id}/claims", tag = "funds",
    request_body = CreateClaimRequest, signed_in,
    responses(
        201 Claim "The claim, pending",
        403 "`forbidden`: auditors",
        422 "`unknown_category`, `unknown_currency`, `amount_precision`, `invalid_date`, `too_long`, ...",
    ))]
pub async fn create_claim(
    ProjectWrite { body, call }: ProjectWrite<CreateClaimRequest>,
) -> Result<HttpResponse, ApiError> {
    let claim = parse_claim(&body);
    let action = Action::RecordContribution { own: true };
    funds::created_by(call, action, move |conn, project, claimant| {
        let row = ops::claims::submit(conn, project, claimant, &claim)?;
        located(conn, project, row)
    })
    .await
}

/// A claim checked field by field, before the database.
fn parse_claim(request: &CreateClaimRequest) -> NewClaim {
    let mut errors = Vec::new();
    let date = date_field("date", &request.date, &mut errors);
    let description = funds::text(
        "description",
        &request.description,
        CLAIM_TEXT_LENGTH_MAX,
        &mut errors,
    );
    let receipt_reference = request.receipt_reference.as_deref().map(|text| {
        funds::text(
            "receipt_reference",
            text,
            CLAIM_TEXT_LENGTH_MAX,
            &mut errors,
        )
    });
    let category = funds::category(&request.category, &mut errors);
    NewClaim {
        amount: request.amount.clone(),
        currency: request.currency.clone(),
        category,
        date,
        description,
        receipt_reference,
        problems: errors.into_iter().map(FieldProblem::from).collect(),
    }
}

/// Whose claims the caller reads: everyone's when they may read every
/// member's value account (owners, treasurers, auditors, administrators),
/// else only their own (None: everyone's).
fn readable_claimant(
    conn: &mut DbConnection,
    caller: &Caller,
    project: &Project,
) -> Result<Option<String>, ApiError> {
    match access::authorize(
        conn,
        caller,
        &project.id,
        Action::ReadValueAccount { own: false },
    ) {
        Ok(_) => Ok(None),
        Err(ApiError::Forbidden) => Ok(Some(caller.signed_in()?.id.to_string())),
        Err(other) => Err(other),
    }
}

/// List expense claims
///
/// Expense claims oldest first: every member's for owners, treasurers and
/// auditors, one's own for a contributor.
#[operation(get "/projects/{project_id}/claims", tag = "funds", signed_in, params(PageQuery),
    responses(
        200 ClaimPage "A page of claims",
        403 "`forbidden`: not a member of this public project",
    ))]
pub async fn list_claims(page: ProjectPage) -> Result<web::Json<ClaimPage>, ApiError> {
    let limit = page_size(page.limit)?;
    let after = decode_cursor(page.cursor.as_deref(), CursorKey::Id)?;
    let items = page
        .call
        .read(
            Action::ReadValueAccount { own: true },
            move |conn, caller, project| {
                let claimant = readable_claimant(conn, caller, project)?;
                let units = super::stored_units(conn)?;
                let rows = db::claims::list(
                    conn,
                    &project.id,
                    claimant.as_deref(),
                    after.as_deref(),
                    limit,
                )?;
                Ok(rows
                    .into_iter()
                    .map(|row| to_claim(&units, row))
                    .collect::<Vec<_>>())
            },
        )
        .await?;
    let next_cursor = next_cursor(&items, limit, |claim| claim.id.clone());
    Ok(web::Json(ClaimPage { items, next_cursor }))
}

/// Get an expense claim
///
/// One expense claim: one's own as a member; anyone's as an owner, treasurer or
/// auditor.
#[operation(get "/projects/{project_id}/claims/{claim_id}", tag = "funds", signed_in,
    params(id "claim_id" "Claim id"),
    responses(
        200 Claim "The claim",
        403 "`forbidden`: another member's claim, for a contributor",
        404 "`project_not_found` or `claim_not_found`",
    ))]
pub async fn get_claim(
    call: ProjectCall,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Claim>, ApiError> {
    let (_, id) = path.into_inner();
    let claim = call
        .read(
            Action::ReadValueAccount { own: true },
            move |conn, caller, project| {
                let row = db::claims::find(conn, &project.id, &id)?
                    .ok_or(ApiError::NotFound(Resource::Claim))?;
                if let Some(own) = readable_claimant(conn, caller, project)?
                    && own != row.claimant_id
                {
                    return Err(ApiError::Forbidden);
                }
                Ok(to_claim(&super::stored_units(conn)?, row))
            },
        )
        .await?;
    Ok(web::Json(claim))
}

/// Approve an expense claim
///
/// Approves a pending claim (owners and treasurers other than its claimant):
/// one `expense` transaction moves its amount from the pool to what the project
/// owes the claimant, recorded as an expense of its category. Pay it afterwards
/// with `POST .../payouts`.
#[operation(post "/projects/{project_id}/claims/{claim_id}/approvals", tag = "funds",
    request_body = ApproveClaimRequest, signed_in, params(id "claim_id" "Claim id"),
    responses(
        201 Claim "The claim, approved",
        403 "`forbidden` (role), or `self_approval` (its claimant)",
        404 "`project_not_found`, `claim_not_found` or `grant_not_found`",
        409 "`already_decided`, `account_conflict`, or idempotent request in flight",
        422 "`insufficient_funds` (more than the pool holds beyond what approved runs reserve), `restricted_purpose` (a category the grant does not allow), `currency_mismatch`, `too_long` (`grant`)",
    ))]
pub async fn approve_claim(
    ItemWrite { body, call, id }: ItemWrite<ApproveClaimRequest>,
) -> Result<HttpResponse, ApiError> {
    super::limits::check_optional_id("grant", body.grant.as_deref())?;
    decide(call, id, ClaimDecision::Approve { grant: body.grant }).await
}

/// Reject an expense claim
///
/// Rejects a pending claim for a reason (owners and treasurers other than its
/// claimant). Nothing is posted; the claimant sees the reason.
#[operation(post "/projects/{project_id}/claims/{claim_id}/rejections", tag = "funds",
    request_body = RejectClaimRequest, signed_in, params(id "claim_id" "Claim id"),
    responses(
        201 Claim "The claim, rejected",
        403 "`forbidden` (role), or `self_approval` (its claimant)",
        404 "`project_not_found` or `claim_not_found`",
        409 "`already_decided`, or idempotent request in flight",
        RejectionReasonRefused,
    ))]
pub async fn reject_claim(
    ItemWrite { body, call, id }: ItemWrite<RejectClaimRequest>,
) -> Result<HttpResponse, ApiError> {
    let reason = funds::rejection_reason(&body.reason, CLAIM_REJECTION_REASON_LENGTH_MAX)?;
    decide(call, id, ClaimDecision::Reject { reason }).await
}

async fn decide(
    call: WriteCall,
    id: String,
    decision: ClaimDecision,
) -> Result<HttpResponse, ApiError> {
    funds::created_by(call, Action::Review, move |conn, project, decider| {
        let row = ops::claims::decide(conn, project, decider, &id, &decision)?;
        located(conn, project, row)
    })
    .await
}

/// The claim `row` as answered, and its location.
fn located(
    conn: &mut DbConnection,
    project: &Project,
    row: ClaimRow,
) -> Result<(String, Claim), ApiError> {
    let claim = to_claim(&super::stored_units(conn)?, row);
    let location = in_project(&project.id, format_args!("claims/{}", claim.id));
    Ok((location, claim))
}
