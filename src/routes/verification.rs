//! `GET /v1/projects/{project_id}/ledger/verification`: the hash chain and
//! every balance recomputed from the stored rows.

use actix_web::{get, web};
use commons_ledger_macros::operation;
use utoipa_actix_web::service_config::ServiceConfig;

use super::call::ProjectCall;
use super::codes::Resource;
use super::problem::ApiError;
use super::snapshot;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::verification;
use crate::domain::access::Action;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_ledger_verification);
}

/// Verify the ledger
///
/// Recomputes the project's hash chain and every balance from the stored
/// transactions and postings, and checks the audit trail's chain and its links
/// to the ledger; reports the first discrepancy. 200 either way: `ok` says
/// whether the ledger verifies.
#[operation(get "/projects/{project_id}/ledger/verification", tag = "ledger", public,
    responses(200 Verification "The verification report"))]
pub async fn get_ledger_verification(
    call: ProjectCall,
) -> Result<web::Json<Verification>, ApiError> {
    let state = call.state.clone();
    let project = call
        .read(Action::ReadLedger, |_, _, project| Ok(project.clone()))
        .await?;
    // One snapshot of its own for every statement of the verification.
    let report = snapshot(&state, move |conn| {
        crate::ops::verification::verify(conn, &project.id)?
            .ok_or(ApiError::NotFound(Resource::Project))
    })
    .await?;
    Ok(web::Json(report.into()))
}

/// What verification found in one project.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Verification {
    #[schema(format = Uuid)]
    pub project: String,
    /// Whether the chain and every balance recompute exactly.
    pub ok: bool,
    pub transactions_checked: u64,
    pub postings_checked: u64,
    pub accounts_checked: u64,
    /// The project's recorded chain head.
    pub head_sequence: i64,
    pub head_hash: String,
    /// Events of the audit trail whose chain and transactions were checked.
    pub events_checked: u64,
    /// The audit trail's last event (`0` and 64 zeros before the first).
    pub events_head_sequence: i64,
    pub events_head_hash: String,
    /// The first discrepancy, in ledger order; null when `ok`.
    pub discrepancy: Option<Discrepancy>,
}

/// The first thing that does not recompute.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Discrepancy {
    /// `sequence_gap`, `chain_broken`, `hash_mismatch`,
    /// `running_balance_mismatch`, `unknown_account`, `balance_mismatch`,
    /// `value_total_mismatch` or `head_mismatch` in the ledger; `event_sequence_gap`,
    /// `event_chain_broken`, `event_hash_mismatch`,
    /// `event_transaction_mismatch` or `unrecorded_transaction` in the
    /// audit trail; `selection_mismatch` in a distribution run's selection.
    pub code: String,
    /// The transaction's sequence, or the event's for an `event_` code.
    pub sequence: Option<i64>,
    #[schema(format = Uuid)]
    pub transaction: Option<String>,
    /// The account concerned, by name.
    pub account: Option<String>,
    /// What recomputing gives.
    pub expected: String,
    /// What is stored.
    pub found: String,
    pub message: String,
}

impl From<verification::Verification> for Verification {
    fn from(report: verification::Verification) -> Self {
        Verification {
            project: report.project,
            ok: report.ok,
            transactions_checked: report.transactions_checked,
            postings_checked: report.postings_checked,
            accounts_checked: report.accounts_checked,
            head_sequence: report.head_sequence,
            head_hash: report.head_hash,
            events_checked: report.events_checked,
            events_head_sequence: report.events_head_sequence,
            events_head_hash: report.events_head_hash,
            discrepancy: report.discrepancy.map(|found| Discrepancy {
                code: found.code,
                sequence: found.sequence,
                transaction: found.transaction,
                account: found.account,
                expected: found.expected,
                found: found.found,
                message: found.message,
            }),
        }
    }
}
