//! Expense claims: a member claims back money they spent for the project,
//! and an owner or treasurer other than the claimant decides. Approval
//! posts one `expense` transaction from the pool that pays (a grant's, if
//! its categories allow, else the general pool of the claim's currency) to
//! what the project owes the claimant (`contributor:<claimant>`), and
//! records it as an expense, so expense lists, category and grant reports
//! count it as spent. Paying the claimant afterwards is an ordinary payout.
//! A rejection posts nothing.

use chrono::NaiveDate;

use super::funds::{expense_pool, money_on, open, post_stored};
use super::{Error, FieldProblem, Missing, Refusal};
use crate::db::claims::{Approval, ClaimRow};
use crate::db::funds::ExpenseRow;
use crate::db::projects::Project;
use crate::db::{self, DbConnection};
use crate::domain::claims::{ClaimStatus, check_claim_decision};
use crate::domain::funds::PendingStatus;
use crate::domain::{TransactionKind, managed};

/// A claim as submitted, checked as far as it can be without the
/// database, with the problems found so far.
#[derive(Debug, Clone)]
pub struct NewClaim {
    pub amount: String,
    pub currency: String,
    /// One of the project's expense categories.
    pub category: String,
    /// The day the money was spent.
    pub date: Option<NaiveDate>,
    pub description: String,
    /// Where the receipt is kept (a file name, a URL, a number).
    pub receipt_reference: Option<String>,
    pub problems: Vec<FieldProblem>,
}

/// Records `claim` by `claimant`, pending: nothing is posted until an
/// owner or treasurer other than the claimant approves it.
pub fn submit(
    conn: &mut DbConnection,
    project: &Project,
    claimant: &str,
    claim: &NewClaim,
) -> Result<ClaimRow, Error> {
    let (unit, amount, date) = money_on(
        conn,
        (&claim.amount, &claim.currency),
        claim.date,
        &claim.problems,
    )?;
    if db::funds::category(conn, &project.id, &claim.category)?.is_none() {
        return Err(Refusal::UnknownCategory(claim.category.clone()).into());
    }
    let unit = db::projects::ensure_unit(conn, &unit)?;
    let row = ClaimRow {
        id: uuid::Uuid::now_v7().to_string(),
        project_id: project.id.to_string(),
        claimant_id: claimant.to_owned(),
        amount: amount.minor(),
        currency: unit.code().to_owned(),
        category: claim.category.clone(),
        date,
        description: claim.description.clone(),
        receipt_reference: claim.receipt_reference.clone(),
        status: ClaimStatus::Pending,
        created_at: db::now(),
        decided_by: None,
        decided_at: None,
        grant_id: None,
        expense_id: None,
        transaction_id: None,
        rejection_reason: None,
    };
    db::claims::insert(conn, &row)?;
    Ok(row)
}

/// A decision on a pending claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimDecision {
    /// Approve it, paid from this grant's pool (its eligible categories
    /// apply), or from the general pool of the claim's currency.
    Approve { grant: Option<String> },
    /// Reject it, for a reason: nothing is posted.
    Reject { reason: String },
}

/// `decider` decides the claim `id`: only a pending one, once, and never
/// its claimant. Approved, its expense is posted now, with the ledger's
/// rules checked then (the pool's balance and what approved runs reserve of
/// it); refused, nothing is written.
pub fn decide(
    conn: &mut DbConnection,
    project: &Project,
    decider: &str,
    id: &str,
    decision: &ClaimDecision,
) -> Result<ClaimRow, Error> {
    db::projects::lock(conn, &project.id)?;
    let claim =
        db::claims::find_locked(conn, &project.id, id)?.ok_or(Error::NotFound(Missing::Claim))?;
    check_claim_decision(claim.status, &claim.claimant_id, decider)
        .map_err(|refusal| Refusal::of_decision(refusal, claim.status.as_str()))?;
    match decision {
        ClaimDecision::Approve { grant } => approve(conn, project, decider, &claim, grant)?,
        ClaimDecision::Reject { reason } => {
            db::claims::reject(conn, &claim.id, decider, reason)?;
        }
    }
    db::claims::find(conn, &project.id, id)?.ok_or(Error::NotFound(Missing::Claim))
}

/// Posts an approved claim's expense and records it: from the pool to the
/// claimant's account, which opens as needed (non-negative, as every
/// contributor account).
fn approve(
    conn: &mut DbConnection,
    project: &Project,
    decider: &str,
    claim: &ClaimRow,
    grant: &Option<String>,
) -> Result<(), Error> {
    let unit = db::projects::stored_unit(conn, &claim.currency)?
        .ok_or_else(|| Error::corrupt("a claim's currency is not a stored unit"))?;
    let (grant, pool) = expense_pool(conn, project, grant.as_deref(), &claim.category, &unit)?;
    let claimant = db::agents::find(conn, &claim.claimant_id)?
        .ok_or_else(|| Error::corrupt("a claim's claimant is missing"))?;
    open(conn, project, &pool, unit.code(), true)?;
    let owed = managed::contributor(&claim.claimant_id).map_err(Error::corrupt)?;
    open(conn, project, &owed, unit.code(), true)?;
    let grant_id = grant.map(|grant| grant.id);
    let record = post_stored(
        conn,
        (project, decider),
        (TransactionKind::Expense, claim.date, "a claim"),
        (
            claim.description.clone(),
            serde_json::json!({"claim": claim.id, "category": claim.category,
                "claimant": claim.claimant_id, "supplier": claimant.name, "grant": grant_id}),
        ),
        (pool.clone(), owed),
        (claim.amount, unit.code()),
    )?;
    let expense = ExpenseRow {
        id: uuid::Uuid::now_v7().to_string(),
        project_id: project.id.to_string(),
        grant_id: grant_id.clone(),
        pool_account: pool.to_string(),
        category: claim.category.clone(),
        supplier: claimant.name,
        date: claim.date,
        description: claim.description.clone(),
        receipt_uri: claim.receipt_reference.clone(),
        amount: claim.amount,
        currency: claim.currency.clone(),
        transaction_id: Some(record.row.id.clone()),
        created_by: decider.to_owned(),
        created_at: db::now(),
        // Recorded by the approver, another person than the claimant: the
        // claim's decision is the second pair of eyes, so it is posted now
        // whatever the project's `four_eyes_above`.
        status: PendingStatus::Posted,
        decided_by: None,
        decided_at: None,
        rejection_reason: None,
    };
    db::funds::insert_expense(conn, &expense)?;
    let approval = Approval {
        grant_id: grant_id.as_deref(),
        expense_id: &expense.id,
        transaction_id: &record.row.id,
    };
    db::claims::approve(conn, &claim.id, decider, approval)?;
    Ok(())
}
