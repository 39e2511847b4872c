//! Grants and donations, expense categories, expenses and payouts: the
//! records behind the ledger transactions that moved pooled money.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{
    expense_categories, expenses, grants, payouts, postings, releases, transactions,
};
use crate::domain::TransactionKind;
use crate::domain::funds::PendingStatus;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = grants)]
pub struct GrantRow {
    pub id: String,
    pub project_id: String,
    pub funder_id: String,
    pub kind: String,
    pub reference: String,
    pub amount: i64,
    pub currency: String,
    pub received_on: NaiveDate,
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
    pub restriction: Option<String>,
    pub eligible_categories: String,
    pub pool_account: String,
    pub transaction_id: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    /// Whether the grant's money may pay contributors (1) or not (0).
    pub distributable: i32,
}

/// Money let out of a restricted grant's pool into the general pool.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = releases)]
pub struct ReleaseRow {
    pub id: String,
    pub project_id: String,
    pub grant_id: String,
    pub amount: i64,
    pub currency: String,
    pub date: NaiveDate,
    pub reason: String,
    /// None while pending or once rejected: nothing is posted until then.
    pub transaction_id: Option<String>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    /// Four eyes: `pending`, `posted` or `rejected`.
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: PendingStatus,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub rejection_reason: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = expense_categories)]
pub struct CategoryRow {
    pub project_id: String,
    pub name: String,
    pub funder_category: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = expenses)]
pub struct ExpenseRow {
    pub id: String,
    pub project_id: String,
    pub grant_id: Option<String>,
    pub pool_account: String,
    pub category: String,
    pub supplier: String,
    pub date: NaiveDate,
    pub description: String,
    pub receipt_uri: Option<String>,
    pub amount: i64,
    pub currency: String,
    /// None while pending or once rejected: nothing is posted until then.
    pub transaction_id: Option<String>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    /// Four eyes: `pending`, `posted` or `rejected`.
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: PendingStatus,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub rejection_reason: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = payouts)]
pub struct PayoutRow {
    pub id: String,
    pub project_id: String,
    pub agent_id: String,
    pub method: String,
    pub reference: String,
    pub date: NaiveDate,
    pub amount: i64,
    pub currency: String,
    /// None while pending or once rejected: nothing is posted until then.
    pub transaction_id: Option<String>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    /// Four eyes: `pending`, `posted` or `rejected`.
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: PendingStatus,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub rejection_reason: Option<String>,
}

insert_row!(insert_grant, grants, GrantRow);

project_row!(grant_by_reference, grants, GrantRow, reference);

project_row!(grant, grants, GrantRow, id);

project_page!(list_grants, grants, GrantRow);

/// The grant whose own (restricted) pool is the account `pool`, if any.
pub fn grant_by_pool(
    conn: &mut DbConnection,
    project_id: &str,
    pool: &str,
) -> QueryResult<Option<GrantRow>> {
    grants::table
        .filter(grants::project_id.eq(project_id))
        .filter(grants::pool_account.eq(pool))
        .filter(grants::restriction.is_not_null())
        .select(GrantRow::as_select())
        .first(conn)
        .optional()
}

insert_row!(owned insert_release, releases, ReleaseRow);

project_page!(
    /// A grant's releases, oldest first, after the id `after`.
    list_releases,
    releases,
    ReleaseRow,
    by id,
    grant_id: &str => grant_id
);

insert_row!(insert_category, expense_categories, CategoryRow);

row_by_key!(
    category,
    expense_categories,
    CategoryRow,
    project_id: &str,
    name: &str
);

pub fn categories(conn: &mut DbConnection, project_id: &str) -> QueryResult<Vec<CategoryRow>> {
    expense_categories::table
        .filter(expense_categories::project_id.eq(project_id))
        .select(CategoryRow::as_select())
        .order(expense_categories::name)
        .load(conn)
}

insert_row!(owned insert_expense, expenses, ExpenseRow);

project_page!(list_expenses, expenses, ExpenseRow);

insert_row!(owned insert_payout, payouts, PayoutRow);

project_page!(list_payouts, payouts, PayoutRow);

/// Money that waits for a second person (four eyes): a payout, an expense
/// or a release, read locked for its decision and decided alike.
pub trait PendingRecord: Sized {
    /// The record `id` of the project, locked for its decision (Postgres;
    /// SQLite's writer is single).
    fn locked(conn: &mut DbConnection, project_id: &str, id: &str) -> QueryResult<Option<Self>>;

    /// Records the decision on the pending record `id` by `decided_by`, now:
    /// posted by `transaction_id`, or rejected for `reason`.
    fn decide(
        conn: &mut DbConnection,
        id: &str,
        decided_by: &str,
        transaction_id: Option<&str>,
        reason: Option<&str>,
    ) -> QueryResult<()>;

    fn id(&self) -> &str;

    fn status(&self) -> PendingStatus;

    /// Who recorded it: never its decider.
    fn created_by(&self) -> &str;
}

/// Implements [`PendingRecord`] for `$row`, stored in `$table`, whose
/// locked read is `$locked`.
macro_rules! pending_record {
    ($locked:ident, $table:ident, $row:ty) => {
        project_row!(locked $locked, $table, $row, id);

        impl PendingRecord for $row {
            fn locked(
                conn: &mut DbConnection,
                project_id: &str,
                id: &str,
            ) -> QueryResult<Option<Self>> {
                $locked(conn, project_id, id)
            }

            fn decide(
                conn: &mut DbConnection,
                id: &str,
                decided_by: &str,
                transaction_id: Option<&str>,
                reason: Option<&str>,
            ) -> QueryResult<()> {
                let status = if transaction_id.is_some() {
                    PendingStatus::Posted
                } else {
                    PendingStatus::Rejected
                };
                diesel::update($table::table.find(id.to_owned()))
                    .set((
                        $table::status.eq(status.as_str()),
                        $table::transaction_id.eq(transaction_id.map(str::to_owned)),
                        $table::decided_by.eq(Some(decided_by.to_owned())),
                        $table::decided_at.eq(Some(super::now())),
                        $table::rejection_reason.eq(reason.map(str::to_owned)),
                    ))
                    .execute(conn)
                    .map(drop)
            }

            fn id(&self) -> &str {
                &self.id
            }

            fn status(&self) -> PendingStatus {
                self.status
            }

            fn created_by(&self) -> &str {
                &self.created_by
            }
        }
    };
}

pending_record!(payout_locked, payouts, PayoutRow);
pending_record!(expense_locked, expenses, ExpenseRow);
pending_record!(release_locked, releases, ReleaseRow);

/// One posting on an account, as a grant's figures need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    /// Kind of the posting's transaction.
    pub kind: String,
    pub amount: i64,
    /// Whether the amount came into the account (else it left).
    pub into: bool,
    /// For a reversal: the transaction it undoes.
    pub reverses: Option<String>,
}

/// Postings into and out of an account. A grant's figures are computed
/// from these, never stored twice.
pub fn movements(conn: &mut DbConnection, account_id: &str) -> QueryResult<Vec<Movement>> {
    let mut out = Vec::new();
    for into in [true, false] {
        let query = super::transactions::postings_on(account_id, into);
        let rows: Vec<(String, i64, Option<String>)> = query
            .select((
                transactions::kind,
                postings::amount,
                transactions::reverses_id,
            ))
            .load(conn)?;
        out.extend(rows.into_iter().map(|(kind, amount, reverses)| Movement {
            kind,
            amount,
            into,
            reverses,
        }));
    }
    Ok(out)
}

/// A posting on an account as its figures count it: by the kind of its
/// transaction or, for a reversal, by the kind of the transaction it undoes
/// (so a reversed payout counts against payouts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountedMovement {
    /// None for a reversal whose original is not found: it counts as none.
    pub kind: Option<TransactionKind>,
    pub amount: i64,
    pub into: bool,
}

/// The postings on an account, each with the kind it counts as.
pub fn counted_movements(
    conn: &mut DbConnection,
    account_id: &str,
) -> QueryResult<Vec<CountedMovement>> {
    let movements = movements(conn, account_id)?;
    let reversed: Vec<String> = movements
        .iter()
        .filter_map(|m| m.reverses.clone())
        .collect();
    let original_kinds: HashMap<String, String> =
        reversed_kinds(conn, &reversed)?.into_iter().collect();
    Ok(movements
        .into_iter()
        .map(|movement| {
            let kind = match &movement.reverses {
                Some(original) => original_kinds.get(original).map_or("", String::as_str),
                None => movement.kind.as_str(),
            };
            CountedMovement {
                kind: TransactionKind::parse(kind),
                amount: movement.amount,
                into: movement.into,
            }
        })
        .collect())
}

/// Kinds of the transactions that the given reversals undo.
pub fn reversed_kinds(
    conn: &mut DbConnection,
    ids: &[String],
) -> QueryResult<Vec<(String, String)>> {
    transactions::table
        .filter(transactions::id.eq_any(ids))
        .select((transactions::id, transactions::kind))
        .load(conn)
}

by_transactions!(
    /// The expenses recorded by the given transactions.
    expenses_by_transactions,
    expenses,
    ExpenseRow
);

by_transactions!(
    /// The grants and donations recorded by the given transactions.
    grants_by_transactions,
    grants,
    GrantRow
);

by_transactions!(
    /// The payouts recorded by the given transactions.
    payouts_by_transactions,
    payouts,
    PayoutRow
);
