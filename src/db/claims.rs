//! Expense claims: what a member claims back, and the decision on it. An
//! approved claim names the expense and the ledger transaction its
//! approval posted; a claim is never edited otherwise, nor deleted.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::claims;
use crate::domain::claims::ClaimStatus;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = claims)]
pub struct ClaimRow {
    pub id: String,
    pub project_id: String,
    /// Who spent the money and is owed it once the claim is approved.
    pub claimant_id: String,
    pub amount: i64,
    pub currency: String,
    pub category: String,
    /// The day the money was spent.
    pub date: NaiveDate,
    pub description: String,
    pub receipt_reference: Option<String>,
    /// `pending`, `approved` or `rejected`.
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: ClaimStatus,
    pub created_at: NaiveDateTime,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    /// The grant whose pool paid it, once approved (None: the general pool).
    pub grant_id: Option<String>,
    /// The expense its approval recorded.
    pub expense_id: Option<String>,
    /// The `expense` transaction its approval posted.
    pub transaction_id: Option<String>,
    pub rejection_reason: Option<String>,
}

insert_row!(owned insert, claims, ClaimRow);

project_row!(find, claims, ClaimRow, id);

project_row!(
    /// A claim of the project, locked for its decision (PostgreSQL; SQLite's
    /// writer is single).
    locked find_locked,
    claims,
    ClaimRow,
    id
);

project_page!(
    /// A page of the project's claims, oldest first, after the id `after`:
    /// everyone's, or only `claimant`'s.
    list,
    claims,
    ClaimRow,
    by id,
    claimant: Option<&str> => claimant_id
);

project_rows!(
    /// Every claim of `claimant` in the project, oldest first: what their
    /// value account sums.
    of_claimant,
    claims,
    ClaimRow,
    claimant => claimant_id
);

/// Updates the claim `$id` to the decision `$status` by `$decided_by`, now,
/// with the columns the decision itself sets (`$set`). Approving and
/// rejecting store who decided and when alike; each then sets only its own
/// columns, so each stays one `UPDATE` of what it changes.
macro_rules! record_decision {
    ($conn:expr, $id:expr, $status:expr, $decided_by:expr, $($set:expr),+ $(,)?) => {
        diesel::update(claims::table.find($id.to_owned()))
            .set((
                claims::status.eq($status.as_str()),
                claims::decided_by.eq(Some($decided_by.to_owned())),
                claims::decided_at.eq(Some(super::now())),
                $($set,)+
            ))
            .execute($conn)
            .map(drop)
    };
}

/// What approving a claim recorded: the pool's grant (if any), the
/// expense and its transaction.
#[derive(Debug, Clone, Copy)]
pub struct Approval<'a> {
    pub grant_id: Option<&'a str>,
    pub expense_id: &'a str,
    pub transaction_id: &'a str,
}

/// Records the approval of a pending claim by `decided_by`.
pub fn approve(
    conn: &mut DbConnection,
    id: &str,
    decided_by: &str,
    approval: Approval<'_>,
) -> QueryResult<()> {
    record_decision!(
        conn,
        id,
        ClaimStatus::Approved,
        decided_by,
        claims::grant_id.eq(approval.grant_id.map(str::to_owned)),
        claims::expense_id.eq(Some(approval.expense_id.to_owned())),
        claims::transaction_id.eq(Some(approval.transaction_id.to_owned())),
    )
}

/// Records the rejection of a pending claim by `decided_by`, for `reason`.
pub fn reject(
    conn: &mut DbConnection,
    id: &str,
    decided_by: &str,
    reason: &str,
) -> QueryResult<()> {
    record_decision!(
        conn,
        id,
        ClaimStatus::Rejected,
        decided_by,
        claims::rejection_reason.eq(Some(reason.to_owned())),
    )
}
