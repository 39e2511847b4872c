//! `/v1/projects/{project_id}/payouts`: money paid from a contributor's
//! account to the outside world. A contributor's account never goes below
//! zero, so nobody is paid more than they are owed.

use actix_web::{HttpResponse, get, post, web};
use commons_ledger_macros::operation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::call::{ItemWrite, ProjectPage, ProjectWrite, Units, WriteCall};
use super::dto::PageQuery;
use super::dto::page_type;
use super::extract::date_field;
use super::funds::{self, DecideRecord, RecordNew, RejectionRequest};
use super::openapi::{
    FourEyesRefusals, OwnersAndTreasurers, PayoutNotFound, RejectionReasonRefused,
};
use super::problem::{ApiError, Problem};
use crate::db::funds::PayoutRow;
use crate::db::{self};
use crate::domain::access::Action;
use crate::ops::funds::{Decision, NewPayout};
use crate::ops::{self, FieldProblem};

/// Longest payment reference, in characters (a bank's transfer reference).
pub const PAYOUT_REFERENCE_LENGTH_MAX: usize = 200;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_payout)
        .service(list_payouts)
        .service(approve_payout)
        .service(reject_payout);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"agent": "7d9e1b2c-3a4f-4b5c-8d6e-9f0a1b2c3d4e", "amount": "312.50", "currency": "EUR", "method": "bank-transfer", "reference": "SEPA-2026-0042", "date": "2026-04-30"}))]
pub struct CreatePayoutRequest {
    /// The contributor paid.
    #[schema(format = Uuid, max_length = 36)]
    pub agent: String,
    /// Positive decimal string with at most the currency's decimals, at most
    /// 10^15 minor units (10,000,000,000,000.00 EUR; 10^15 JPY) and 40 characters.
    #[schema(example = "312.50", pattern = r"^[0-9]+(\.[0-9]+)?$", max_length = 40)]
    pub amount: String,
    #[schema(example = "EUR", max_length = 8)]
    pub currency: String,
    /// How it was paid, e.g. `bank-transfer` (letters, digits, '.', '_', '-').
    #[schema(example = "bank-transfer", max_length = 100)]
    pub method: String,
    /// The payment's reference outside, e.g. the bank's.
    #[schema(example = "SEPA-2026-0042", max_length = 200)]
    pub reference: String,
    #[schema(example = "2026-04-30", format = Date, max_length = 10)]
    pub date: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Payout {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub agent: String,
    pub amount: String,
    pub currency: String,
    pub method: String,
    pub reference: String,
    #[schema(format = Date)]
    pub date: String,
    /// The `payout` ledger transaction; null while pending or once rejected.
    #[schema(format = Uuid)]
    pub transaction: Option<String>,
    /// `posted`; `pending` while a payout to its own recorder waits for
    /// another owner or treasurer (four eyes); `rejected` if refused.
    #[schema(example = "posted")]
    pub status: String,
    /// Who approved or rejected it, if it was pending.
    #[schema(format = Uuid)]
    pub decided_by: Option<String>,
    pub rejection_reason: Option<String>,
}

page_type!(PayoutPage, Payout);

fn to_payout(units: &Units, row: PayoutRow) -> Payout {
    Payout {
        amount: super::format_minor(units, &row.currency, row.amount),
        date: row.date.to_string(),
        id: row.id,
        agent: row.agent_id,
        currency: row.currency,
        method: row.method,
        reference: row.reference,
        transaction: row.transaction_id,
        status: row.status.as_str().to_owned(),
        decided_by: row.decided_by,
        rejection_reason: row.rejection_reason,
    }
}

/// Record a payout
///
/// Records money paid to a contributor out of what the project owes them
/// (owners and treasurers). Above the project's `four_eyes_above` it is pending
/// until another owner or treasurer approves it.
#[operation(post "/projects/{project_id}/payouts", tag = "funds",
    request_body = CreatePayoutRequest, signed_in,
    responses(
        201 Payout "The payout: `posted`, or `pending` when paid to its recorder (four eyes)",
        OwnersAndTreasurers,
        422 "`insufficient_funds` (more than owed), `unknown_agent`, `amount_precision`, ...",
    ))]
pub async fn create_payout(
    ProjectWrite { body, call }: ProjectWrite<CreatePayoutRequest>,
) -> Result<HttpResponse, ApiError> {
    super::limits::check_id("agent", &body.agent)?;
    let mut errors = Vec::new();
    let date = date_field("date", &body.date, &mut errors);
    let method = funds::segment("method", &body.method, &mut errors);
    let reference = funds::text(
        "reference",
        &body.reference,
        PAYOUT_REFERENCE_LENGTH_MAX,
        &mut errors,
    );
    let payout = NewPayout {
        agent: body.agent,
        method,
        reference,
        date,
        amount: body.amount,
        currency: body.currency,
        problems: errors.into_iter().map(FieldProblem::from).collect(),
    };
    // A payout has no `GET` of its own: the payout list holds it.
    let record = ("payouts", ops::funds::record_payout as RecordNew<_, _>);
    funds::record_listed(call, payout, record, to_payout).await
}

/// List payouts
///
/// Payouts oldest first, with their status and transaction.
#[operation(get "/projects/{project_id}/payouts", tag = "funds", public, params(PageQuery),
    responses(200 PayoutPage "A page of payouts"))]
pub async fn list_payouts(page: ProjectPage) -> Result<web::Json<PayoutPage>, ApiError> {
    let page = page
        .list(
            Action::ReadLedger,
            db::funds::list_payouts,
            to_payout,
            |p| &p.id,
        )
        .await?;
    Ok(web::Json(page.into()))
}

/// Approve a pending payout
///
/// Approves a pending payout: its transaction is posted now (owners and
/// treasurers other than its recorder).
#[operation(post "/projects/{project_id}/payouts/{payout_id}/approvals", tag = "funds", signed_in,
    params(id "payout_id" "Payout id"),
    responses(
        201 Payout "The payout, posted",
        FourEyesRefusals,
        PayoutNotFound,
        422 "`insufficient_funds` (more than the contributor is owed now)",
    ))]
pub async fn approve_payout(
    ItemWrite { call, id, .. }: ItemWrite<serde_json::Map<String, serde_json::Value>>,
) -> Result<HttpResponse, ApiError> {
    decide(call, id, Decision::Approve).await
}

/// Reject a pending payout
///
/// Rejects a pending payout for a reason: nothing is posted (owners and
/// treasurers other than its recorder).
#[operation(post "/projects/{project_id}/payouts/{payout_id}/rejections", tag = "funds",
    request_body = RejectionRequest, signed_in, params(id "payout_id" "Payout id"),
    responses(
        201 Payout "The payout, rejected",
        FourEyesRefusals,
        PayoutNotFound,
        RejectionReasonRefused,
    ))]
pub async fn reject_payout(
    ItemWrite { body, call, id }: ItemWrite<RejectionRequest>,
) -> Result<HttpResponse, ApiError> {
    decide(call, id, funds::rejection(&body)?).await
}

async fn decide(call: WriteCall, id: String, decision: Decision) -> Result<HttpResponse, ApiError> {
    // A payout has no `GET` of its own: the payout list holds it.
    let record = ("payouts", ops::funds::decide_payout as DecideRecord<_>);
    funds::decide_listed(call, (id, decision), record, to_payout).await
}
