//! The exports' reader: pages of ledger entries, of the movements of one
//! account and of contributions, each read in its own short read
//! transaction (up to the export's snapshot for the ledger) and converted
//! to the domain values the report folds take, then handed over after the
//! connection is back in the pool.

use std::collections::{HashMap, HashSet};

use crate::db::contributions::{ContributionFilter, ContributionRow};
use crate::db::transactions::{TransactionFilter, TransactionRecord};
use crate::db::{self, Database, DbConnection, StorageError};
use crate::domain::TransactionKind;
use crate::domain::reports::Units;
use crate::domain::reports::contributions::{AppliedRate, ContributionEntry};
use crate::domain::reports::journal::Entry;
use crate::domain::reports::movement::{Movement, Record};

/// Rows read from the database per page of an export.
pub const EXPORT_PAGE_ROWS: i64 = 500;

/// Why an export stopped early.
pub enum Halt {
    /// The client went away: nothing to report.
    Gone,
    Failed(String),
}

impl From<StorageError> for Halt {
    fn from(error: StorageError) -> Self {
        Halt::Failed(error.to_string())
    }
}

impl From<diesel::result::Error> for Halt {
    fn from(error: diesel::result::Error) -> Self {
        Halt::Failed(error.to_string())
    }
}

/// One page read: what it holds, how many rows it read and the cursor of
/// its last row (none when it read none).
struct Read<T, C> {
    page: T,
    rows: usize,
    last: Option<C>,
}

/// Calls `each` with every page `read` gives after the previous page's
/// cursor, until a page comes back short of `EXPORT_PAGE_ROWS`.
fn paged<T, C>(
    mut read: impl FnMut(Option<&C>) -> Result<Read<T, C>, Halt>,
    mut each: impl FnMut(T) -> Result<(), Halt>,
) -> Result<(), Halt> {
    let mut after = None;
    loop {
        let Read { page, rows, last } = read(after.as_ref())?;
        let Some(last) = last else {
            return Ok(());
        };
        each(page)?;
        if i64::try_from(rows).unwrap_or(0) < EXPORT_PAGE_ROWS {
            return Ok(());
        }
        after = Some(last);
    }
}

/// A page of the ledger: the units and the transactions read.
fn ledger_page(
    conn: &mut DbConnection,
    project_id: &str,
    filter: &TransactionFilter,
    after: Option<&i64>,
) -> Result<(Units, Vec<TransactionRecord>), StorageError> {
    let units = db::units::stored(conn)?;
    let records =
        db::transactions::list(conn, project_id, filter, after.copied(), EXPORT_PAGE_ROWS)?;
    Ok((units, records))
}

/// A stored transaction as the reports read it (its kind was typed as it
/// was read: an unknown one is a failure there, never a guess).
fn entry(record: TransactionRecord) -> Entry {
    let TransactionRecord {
        row,
        kind,
        postings,
        reversed_by,
        ..
    } = record;
    Entry {
        kind,
        id: row.id,
        sequence: row.sequence,
        effective_date: row.effective_date,
        recorded_at: db::format_timestamp(row.recorded_at),
        description: row.description,
        reverses: row.reverses_id,
        reversed_by,
        hash: row.hash,
        postings,
    }
}

/// The kind of a reversed original, as `behind` read it; an unknown one is
/// a failure, never a guess.
fn kind(text: &str) -> Result<TransactionKind, Halt> {
    TransactionKind::parse(text)
        .ok_or_else(|| Halt::Failed(format!("unknown transaction kind `{text}`")))
}

fn entries(records: Vec<TransactionRecord>) -> Result<Vec<Entry>, Halt> {
    Ok(records.into_iter().map(entry).collect())
}

/// Calls `each` with every page of the project's transactions matching
/// `filter`, in ledger order.
pub fn each_entry_page(
    db: &Database,
    project_id: &str,
    filter: &TransactionFilter,
    mut each: impl FnMut(&Units, &[Entry]) -> Result<(), Halt>,
) -> Result<(), Halt> {
    let read = |after: Option<&i64>| {
        let (units, records) = db.read(|conn| ledger_page(conn, project_id, filter, after))?;
        let last = records.last().map(|r| r.row.sequence);
        let rows = records.len();
        let page = (units, entries(records)?);
        Ok(Read { page, rows, last })
    };
    paged(read, |(units, entries)| each(&units, &entries))
}

/// The kinds of the transactions undone by reversals, and the records
/// (expense, run, grant, payout) behind the transactions `ids`, by id.
type Behind = (HashMap<String, String>, HashMap<String, Record>);

fn behind(conn: &mut DbConnection, records: &[TransactionRecord]) -> Result<Behind, StorageError> {
    let originals: Vec<String> = records
        .iter()
        .filter_map(|r| r.row.reverses_id.clone())
        .collect();
    let kinds = db::funds::reversed_kinds(conn, &originals)?
        .into_iter()
        .collect();
    let mut ids: Vec<String> = records.iter().map(|r| r.row.id.clone()).collect();
    ids.extend(originals);
    let mut found = HashMap::new();
    for p in db::funds::payouts_by_transactions(conn, &ids)? {
        let Some(transaction_id) = p.transaction_id else {
            continue;
        };
        found.insert(
            transaction_id,
            Record::Payout {
                reference: p.reference,
            },
        );
    }
    for g in db::funds::grants_by_transactions(conn, &ids)? {
        found.insert(
            g.transaction_id,
            Record::Grant {
                reference: g.reference,
            },
        );
    }
    for e in db::funds::expenses_by_transactions(conn, &ids)? {
        let (category, supplier) = (e.category, e.supplier);
        if let Some(transaction_id) = e.transaction_id {
            found.insert(transaction_id, Record::Expense { category, supplier });
        }
    }
    for record in records {
        if record.kind == TransactionKind::Exchange {
            let text = |key: &str| {
                record.metadata[key]
                    .as_str()
                    .map_or_else(String::new, str::to_owned)
            };
            let (rate, source) = (text("rate"), text("rate_source"));
            found.insert(record.row.id.clone(), Record::Exchange { rate, source });
        }
    }
    for d in db::distributions::by_transactions(conn, &ids)? {
        if let Some(transaction_id) = d.transaction_id {
            found.insert(transaction_id, Record::Run { id: d.id });
        }
    }
    Ok((kinds, found))
}

/// Calls `each` with every page of postings on `account` (by name) in
/// ledger order, within `filter`, each with the record behind it.
pub fn each_movement_page(
    db: &Database,
    project_id: &str,
    account: &str,
    filter: &TransactionFilter,
    mut each: impl FnMut(&Units, &[Movement]) -> Result<(), Halt>,
) -> Result<(), Halt> {
    let read = |after: Option<&i64>| {
        let (units, records, (kinds, found)) = db.read(|conn| -> Result<_, StorageError> {
            let (units, records) = ledger_page(conn, project_id, filter, after)?;
            let behind = behind(conn, &records)?;
            Ok((units, records, behind))
        })?;
        let last = records.last().map(|r| r.row.sequence);
        let rows = records.len();
        let mut movements = Vec::new();
        for entry in entries(records)? {
            let (kind, source) = match &entry.reverses {
                Some(original) => (kinds.get(original).map_or("", String::as_str), original),
                None => (entry.kind.as_str(), &entry.id),
            };
            let kind = self::kind(kind)?;
            movements.extend(Movement::all_on(&entry, account, kind, found.get(source)));
        }
        Ok(Read {
            page: (units, movements),
            rows,
            last,
        })
    };
    paged(read, |(units, movements)| each(&units, &movements))
}

/// The funder categories of a project's expense categories, by name.
pub fn funder_categories(
    conn: &mut DbConnection,
    project_id: &str,
) -> Result<HashMap<String, String>, StorageError> {
    Ok(db::funds::categories(conn, project_id)?
        .into_iter()
        .map(|c| (c.name, c.funder_category))
        .collect())
}

/// What the pages of contributions share: the contributions replaced by
/// an approved correction, and the rates read so far, by id.
struct ContributionReader {
    replaced: HashSet<String>,
    rates: HashMap<String, AppliedRate>,
}

impl ContributionReader {
    /// A page of contributions with their reviews and rates.
    fn page(
        &mut self,
        conn: &mut DbConnection,
        project_id: &str,
        filter: &ContributionFilter,
        after: Option<&String>,
    ) -> Result<Read<(Units, Vec<ContributionEntry>), String>, StorageError> {
        let units = db::units::stored(conn)?;
        let after = after.map(String::as_str);
        let rows = db::contributions::list(conn, project_id, filter, after, EXPORT_PAGE_ROWS)?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut reviews: HashMap<String, Vec<String>> = HashMap::new();
        for review in db::contributions::reviews_of(conn, &ids)? {
            let text = format!("{}:{}", review.reviewer_id, review.decision.as_str());
            reviews
                .entry(review.contribution_id)
                .or_default()
                .push(text);
        }
        for rate_id in rows.iter().filter_map(|r| r.rate_id.as_ref()) {
            if !self.rates.contains_key(rate_id)
                && let Some(rate) = db::rates::find(conn, rate_id)?
            {
                let (amount, currency, per) = (rate.rate, rate.currency, rate.per.into());
                let (method, source) = (rate.method, rate.source);
                let applied = AppliedRate {
                    amount,
                    currency,
                    per,
                    method,
                    source,
                };
                self.rates.insert(rate_id.clone(), applied);
            }
        }
        let last = rows.last().map(|r| r.id.clone());
        let count = rows.len();
        let entries = rows
            .into_iter()
            .map(|row| {
                let reviews = reviews.remove(&row.id).unwrap_or_default();
                self.entry(row, reviews)
            })
            .collect();
        Ok(Read {
            page: (units, entries),
            rows: count,
            last,
        })
    }

    /// A stored contribution as the reports read it.
    fn entry(&self, row: ContributionRow, reviews: Vec<String>) -> ContributionEntry {
        ContributionEntry {
            rate: row
                .rate_id
                .as_ref()
                .and_then(|id| self.rates.get(id))
                .cloned(),
            reviews,
            replaced: self.replaced.contains(&row.id),
            recorded_at: db::format_timestamp(row.recorded_at),
            id: row.id,
            agent_id: row.agent_id,
            kind: row.kind.into(),
            date: row.date,
            quantity: row.quantity,
            unit: row.unit.into(),
            description: row.description,
            skill: row.skill,
            equipment: row.equipment,
            dataset_title: row.dataset_title,
            dataset_uri: row.dataset_uri,
            dataset_checksum: row.dataset_checksum,
            licence: row.licence,
            value: row.value,
            currency: row.currency,
            status: row.status.into(),
            supersedes: row.supersedes_id,
        }
    }
}

/// Calls `each` with every page of the project's contributions matching
/// `filter`, in recording order, with their rates, reviews and whether a
/// correction replaced them.
pub fn each_contribution_page(
    db: &Database,
    project_id: &str,
    filter: &ContributionFilter,
    mut each: impl FnMut(&Units, &[ContributionEntry]) -> Result<(), Halt>,
) -> Result<(), Halt> {
    let replaced = db.read(|conn| -> Result<_, StorageError> {
        Ok(db::contributions::replaced(conn, project_id)?)
    })?;
    let mut reader = ContributionReader {
        replaced: replaced.into_iter().collect(),
        rates: HashMap::new(),
    };
    let read = |after: Option<&String>| -> Result<_, Halt> {
        Ok(db.read(|conn| reader.page(conn, project_id, filter, after))?)
    };
    paged(read, |(units, entries): (Units, Vec<_>)| {
        each(&units, &entries)
    })
}
