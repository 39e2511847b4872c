//! The postings on one account, page by page, with the records behind them
//! (the expense, run, grant or payout a transaction recorded, and for a
//! reversal those of the transaction it undid): what the grant report and
//! the contributor statement are made of.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::{EXPORT_PAGE_ROWS, Halt};
use crate::db::distributions::DistributionRow;
use crate::db::funds::{ExpenseRow, GrantRow, PayoutRow};
use crate::db::transactions::TransactionFilter;
use crate::db::{self, Database};
use crate::domain::Unit;
use crate::routes::problem::ApiError;

/// One posting on the account.
pub struct Movement {
    pub transaction_id: String,
    pub date: NaiveDate,
    pub description: String,
    pub currency: String,
    /// Into the account positive, out of it negative.
    pub signed: i64,
    /// The other account of the posting.
    pub counter: String,
    /// The transaction's kind; for a reversal, the kind it undid.
    pub kind: String,
    pub reversal: bool,
    /// The transaction whose records describe it: its own, or for a
    /// reversal, the one it undid.
    pub source: String,
}

/// Records behind a page's transactions, by transaction id.
#[derive(Default)]
pub struct Linked {
    pub expenses: HashMap<String, ExpenseRow>,
    pub runs: HashMap<String, DistributionRow>,
    pub grants: HashMap<String, GrantRow>,
    pub payouts: HashMap<String, PayoutRow>,
}

/// Calls `each` with every page of postings on `account` (by name) in
/// ledger order, within `filter`.
pub fn each_page(
    db: &Database,
    project_id: &str,
    account: &str,
    filter: &TransactionFilter,
    mut each: impl FnMut(&HashMap<String, Unit>, &[Movement], &Linked) -> Result<(), Halt>,
) -> Result<(), Halt> {
    let mut after = None;
    loop {
        let page = db.read(|conn| -> Result<_, ApiError> {
            let units = crate::routes::stored_units(conn)?;
            let records =
                db::transactions::list(conn, project_id, filter, after, EXPORT_PAGE_ROWS)?;
            let originals: Vec<String> = records
                .iter()
                .filter_map(|r| r.row.reverses_id.clone())
                .collect();
            let kinds: HashMap<String, String> = db::funds::reversed_kinds(conn, &originals)?
                .into_iter()
                .collect();
            let mut ids: Vec<String> = records.iter().map(|r| r.row.id.clone()).collect();
            ids.extend(originals);
            let linked = Linked {
                expenses: db::funds::expenses_by_transactions(conn, &ids)?
                    .into_iter()
                    .map(|e| (e.transaction_id.clone(), e))
                    .collect(),
                runs: db::distributions::by_transactions(conn, &ids)?
                    .into_iter()
                    .filter_map(|d| Some((d.transaction_id.clone()?, d)))
                    .collect(),
                grants: db::funds::grants_by_transactions(conn, &ids)?
                    .into_iter()
                    .map(|g| (g.transaction_id.clone(), g))
                    .collect(),
                payouts: db::funds::payouts_by_transactions(conn, &ids)?
                    .into_iter()
                    .map(|p| (p.transaction_id.clone(), p))
                    .collect(),
            };
            Ok((units, records, kinds, linked))
        })?;
        let (units, records, kinds, linked) = page;
        let Some(last) = records.last().map(|r| r.row.sequence) else {
            return Ok(());
        };
        let mut movements = Vec::new();
        for record in &records {
            let row = &record.row;
            let (kind, source) = match &row.reverses_id {
                Some(original) => (
                    kinds.get(original).cloned().unwrap_or_default(),
                    original.clone(),
                ),
                None => (row.kind.clone(), row.id.clone()),
            };
            for posting in &record.postings {
                let sides = [
                    (&posting.to, &posting.from, posting.amount),
                    (&posting.from, &posting.to, -posting.amount),
                ];
                for (touched, counter, signed) in sides {
                    if touched == account {
                        movements.push(Movement {
                            transaction_id: row.id.clone(),
                            date: row.effective_date,
                            description: row.description.clone(),
                            currency: posting.currency.clone(),
                            signed,
                            counter: counter.clone(),
                            kind: kind.clone(),
                            reversal: row.reverses_id.is_some(),
                            source: source.clone(),
                        });
                    }
                }
            }
        }
        each(&units, &movements, &linked)?;
        if i64::try_from(records.len()).unwrap_or(0) < EXPORT_PAGE_ROWS {
            return Ok(());
        }
        after = Some(last);
    }
}
