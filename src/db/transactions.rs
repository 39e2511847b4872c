//! Posting transactions to a project's ledger and reading them back.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use diesel::dsl::{InnerJoin, IntoBoxed};

use super::schema::{postings, transactions};
use super::{DbConnection, StorageError, accounts, projects};

use super::MultiBackend;
use crate::domain::hash::HashedTransaction;
use crate::domain::reports::journal::EntryPosting;
use crate::domain::transaction::{
    Balances, check_dated, first_negative_day, moves_value_totals, value_movement,
};
use crate::domain::{NewTransaction, TransactionError, TransactionKind};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = transactions)]
pub struct TransactionRow {
    pub id: String,
    pub project_id: String,
    pub sequence: i64,
    pub kind: String,
    pub effective_date: NaiveDate,
    pub recorded_at: NaiveDateTime,
    pub description: String,
    pub metadata: String,
    pub reverses_id: Option<String>,
    pub previous_hash: String,
    pub hash: String,
    /// The agent whose request posted it (none before this was recorded).
    pub recorded_by: Option<String>,
}

/// The hash that chains `row` (with its `postings`, in order) to the
/// transaction before it (`row.previous_hash`), over the exact text stored:
/// the same function hashes a transaction as it is posted and as
/// verification reads it back.
pub fn chain_hash(row: &TransactionRow, postings: &[PostingRow]) -> String {
    let effective_date = row.effective_date.to_string();
    let recorded_at = super::format_timestamp(row.recorded_at);
    HashedTransaction {
        project_id: &row.project_id,
        sequence: row.sequence,
        id: &row.id,
        kind: &row.kind,
        effective_date: &effective_date,
        recorded_at: &recorded_at,
        recorded_by: row.recorded_by.as_deref(),
        description: &row.description,
        metadata: &row.metadata,
        reverses: row.reverses_id.as_deref(),
        postings: postings
            .iter()
            .map(|p| {
                (
                    p.from_account_id.as_str(),
                    p.to_account_id.as_str(),
                    p.amount,
                    p.currency.as_str(),
                )
            })
            .collect(),
        previous_hash: &row.previous_hash,
    }
    .hash()
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = postings)]
pub struct PostingRow {
    pub transaction_id: String,
    pub project_id: String,
    pub position: i32,
    pub from_account_id: String,
    pub to_account_id: String,
    pub amount: i64,
    pub currency: String,
    pub from_balance_after: i64,
    pub to_balance_after: i64,
}

/// A transaction as stored, with its postings (accounts by name, with
/// their balances right after each) and the reversal that undid it, its
/// kind and metadata read back as typed values.
#[derive(Debug, Clone)]
pub struct TransactionRecord {
    pub row: TransactionRow,
    pub kind: TransactionKind,
    pub metadata: serde_json::Value,
    pub postings: Vec<EntryPosting>,
    pub reversed_by: Option<String>,
}

impl TransactionRecord {
    /// A stored transaction as a record; a kind the service never writes,
    /// or metadata that is not JSON, is a query error (a logged 500), never
    /// read as a default.
    fn read(
        row: TransactionRow,
        postings: Vec<EntryPosting>,
        reversed_by: Option<String>,
    ) -> QueryResult<TransactionRecord> {
        let corrupt = |what: String| {
            diesel::result::Error::DeserializationError(Box::new(StorageError::Corrupt(format!(
                "transaction {}: {what}",
                row.id
            ))))
        };
        let kind = TransactionKind::parse(&row.kind)
            .ok_or_else(|| corrupt(format!("kind `{}`", row.kind)))?;
        let metadata =
            serde_json::from_str(&row.metadata).map_err(|e| corrupt(format!("metadata: {e}")))?;
        Ok(TransactionRecord {
            row,
            kind,
            metadata,
            postings,
            reversed_by,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error(transparent)]
    Rule(#[from] TransactionError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Filters for listing transactions.
#[derive(Debug, Default, Clone)]
pub struct TransactionFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub account_id: Option<String>,
    pub kind: Option<String>,
    /// Only transactions up to this sequence (an export's snapshot).
    pub until_sequence: Option<i64>,
    /// Only the adjustments of a period (`from`, either end open, through
    /// `to`): reversals dated after `to` of a transaction dated within it.
    pub adjusting: Option<(Option<NaiveDate>, NaiveDate)>,
}

/// Posts `transaction` to the project's ledger inside the caller's database
/// transaction: locks the project then the touched accounts (in id order),
/// applies the domain rules to the balances read under those locks, extends
/// the hash chain and inserts the rows. The database's triggers re-check
/// every invariant as the postings land.
///
/// Money leaves a non-negative account only above what approved
/// distribution runs reserve of it (`NewTransaction::apply`).
pub fn post(
    conn: &mut DbConnection,
    (project_id, by): (&str, &str),
    transaction: &NewTransaction,
    reverses: Option<&str>,
) -> Result<TransactionRecord, PostError> {
    Poster::new(project_id, by).post(conn, transaction, reverses)
}

/// [`post`] for the execution of the approved run `run`: the money it
/// reserved is the money it takes, so its own reservation does not count.
pub fn post_for_run(
    conn: &mut DbConnection,
    (project_id, by): (&str, &str),
    transaction: &NewTransaction,
    run: &str,
) -> Result<TransactionRecord, PostError> {
    let mut poster = Poster::new(project_id, by);
    poster.run = Some(run);
    poster.post(conn, transaction, None)
}

/// Posts transactions to one project's ledger, one after another inside the
/// caller's database transaction, reading only once what each would read
/// again: the project is locked and its chain head (with its closing date)
/// read before the first, and each account is locked and read (with its
/// unit and what approved runs reserve of it) the first time a transaction
/// touches it. From then on the head and the balances are carried forward
/// in memory as each transaction lands; the database's triggers still check
/// every row against the stored head and balances, so a copy that had gone
/// stale could only make a posting fail, never post a wrong one.
///
/// What it holds is true only while the caller's transaction holds the
/// locks and no one else posts in it: a batch of transactions in one write.
/// What it holds changes only when a post succeeds; when the caller rolls
/// back a savepoint that held a post (or any statement after the first),
/// it calls [`Poster::forget`], so what it holds is read again (PostgreSQL
/// also releases the row locks taken inside that savepoint).
pub struct Poster<'a> {
    project_id: &'a str,
    by: &'a str,
    /// The approved run being executed, whose own reservation is not counted.
    run: Option<&'a str>,
    head: Option<Head>,
    accounts: Balances,
}

/// The project's chain head and closing date, as the next transaction
/// extends it.
#[derive(Debug, Clone)]
struct Head {
    sequence: i64,
    hash: String,
    closed_through: Option<NaiveDate>,
}

impl<'a> Poster<'a> {
    /// Posts to `project_id`'s ledger on behalf of agent `by`.
    pub fn new(project_id: &'a str, by: &'a str) -> Self {
        Poster {
            project_id,
            by,
            run: None,
            head: None,
            accounts: Balances::new(),
        }
    }

    /// Posts to `project`'s ledger on behalf of agent `by`, from the head
    /// `project` holds: for a caller that read `project` in this transaction
    /// under the project's write lock (the write pipeline authorizes a
    /// project write after taking it: on PostgreSQL the row lock, on SQLite
    /// the one writer) with nothing posted to it since, so the head is not
    /// read again. The database's triggers still check the first posting
    /// against the stored head; after a rollback, [`Poster::forget`] makes
    /// the next post read it.
    pub fn from_head_of(project: &'a super::projects::Project, by: &'a str) -> Self {
        Poster {
            head: Some(Head {
                sequence: project.last_sequence,
                hash: project.last_hash.clone(),
                closed_through: project.closed_through,
            }),
            ..Poster::new(&project.id, by)
        }
    }

    /// Drops what is held, to be read again by the next post: after the
    /// caller rolled back a savepoint.
    pub fn forget(&mut self) {
        self.head = None;
        self.accounts.clear();
    }

    /// The project locked and its head read, once.
    fn head(&mut self, conn: &mut DbConnection) -> QueryResult<Head> {
        if let Some(head) = &self.head {
            return Ok(head.clone());
        }
        let project =
            projects::find_locked(conn, self.project_id)?.ok_or(diesel::result::Error::NotFound)?;
        let head = Head {
            sequence: project.last_sequence,
            hash: project.last_hash,
            closed_through: project.closed_through,
        };
        self.head = Some(head.clone());
        Ok(head)
    }

    /// The state of the accounts named (those that exist), each locked and
    /// read the first time it is asked for.
    fn accounts(
        &mut self,
        conn: &mut DbConnection,
        names: &[crate::domain::AccountName],
    ) -> QueryResult<Balances> {
        let missing: Vec<crate::domain::AccountName> = names
            .iter()
            .filter(|name| !self.accounts.contains_key(*name))
            .cloned()
            .collect();
        if !missing.is_empty() {
            let read = accounts::lock_and_load(conn, self.project_id, &missing, self.run)?;
            self.accounts.extend(read);
        }
        Ok(names
            .iter()
            .filter_map(|name| {
                let account = self.accounts.get(name)?;
                Some((name.clone(), account.clone()))
            })
            .collect())
    }

    /// Posts `transaction` (a reversal of `reverses`, if given): see
    /// [`post`].
    pub fn post(
        &mut self,
        conn: &mut DbConnection,
        transaction: &NewTransaction,
        reverses: Option<&str>,
    ) -> Result<TransactionRecord, PostError> {
        let head = self.head(conn)?;
        check_dated(
            transaction.effective_date,
            super::today(),
            head.closed_through,
        )?;
        let mut balances = self.accounts(conn, &transaction.account_names())?;
        let running = transaction.apply(&mut balances)?;
        never_negative_by_date(conn, transaction, &balances)?;
        let (row, posting_rows) = self.rows(transaction, reverses, &head, &balances, &running)?;
        insert(conn, &row, &posting_rows)?;
        keep_value_totals(conn, transaction.kind, reverses, &posting_rows, &balances)?;
        let postings = transaction
            .postings
            .iter()
            .zip(&running)
            .map(|(p, after)| EntryPosting {
                from: p.from.to_string(),
                to: p.to.to_string(),
                amount: p.amount.minor(),
                currency: p.unit.clone(),
                from_balance_after: after.from_balance_after,
                to_balance_after: after.to_balance_after,
            })
            .collect();
        // Landed: the head and the balances move on.
        self.head = Some(Head {
            sequence: row.sequence,
            hash: row.hash.clone(),
            closed_through: head.closed_through,
        });
        self.accounts.extend(balances);
        TransactionRecord::read(row, postings, None).map_err(PostError::Database)
    }

    /// The rows of `transaction` as it extends `head`, hashed into the chain.
    fn rows(
        &self,
        transaction: &NewTransaction,
        reverses: Option<&str>,
        head: &Head,
        balances: &Balances,
        running: &[crate::domain::transaction::PostingBalances],
    ) -> Result<(TransactionRow, Vec<PostingRow>), TransactionError> {
        let id = uuid::Uuid::now_v7().to_string();
        let account_id = |name: &crate::domain::AccountName| {
            balances
                .get(name)
                .map(|account| account.id.clone())
                .ok_or_else(|| TransactionError::UnknownAccount(name.to_string()))
        };
        let posting_rows: Vec<PostingRow> = transaction
            .postings
            .iter()
            .zip(running)
            .enumerate()
            .map(|(position, (posting, after))| {
                Ok(PostingRow {
                    transaction_id: id.clone(),
                    project_id: self.project_id.to_owned(),
                    // At most POSTINGS_PER_TRANSACTION_MAX (500) postings: it fits.
                    position: i32::try_from(position).unwrap_or(i32::MAX),
                    from_account_id: account_id(&posting.from)?,
                    to_account_id: account_id(&posting.to)?,
                    amount: posting.amount.minor(),
                    currency: posting.unit.clone(),
                    from_balance_after: after.from_balance_after,
                    to_balance_after: after.to_balance_after,
                })
            })
            .collect::<Result<_, TransactionError>>()?;
        let row = TransactionRow {
            id,
            project_id: self.project_id.to_owned(),
            sequence: head.sequence + 1,
            kind: transaction.kind.as_str().to_owned(),
            effective_date: transaction.effective_date,
            recorded_at: super::now(),
            description: transaction.description.clone(),
            metadata: transaction.metadata.clone(),
            reverses_id: reverses.map(str::to_owned),
            previous_hash: head.hash.clone(),
            hash: String::new(),
            recorded_by: Some(self.by.to_owned()),
        };
        let row = TransactionRow {
            hash: chain_hash(&row, &posting_rows),
            ..row
        };
        Ok((row, posting_rows))
    }
}

/// Inserts a transaction's row, then its postings in order: the only
/// statements a posting cannot do without (public for the benchmark that
/// measures what the database alone takes for them). On PostgreSQL they
/// go in one round trip to the server ([`insert_in_one_round_trip`]).
pub fn insert(
    conn: &mut DbConnection,
    row: &TransactionRow,
    postings: &[PostingRow],
) -> QueryResult<()> {
    // Run on the backend's own connection: there diesel finds the prepared
    // statement by the statement's type, where through the two-backend
    // connection it builds the SQL text again for every lookup (a tenth of
    // a batch's server time, docs/benchmarks.md).
    let sqlite = match conn {
        DbConnection::Postgresql(pg) => return insert_in_one_round_trip(pg, row, postings),
        DbConnection::Sqlite(sqlite) => sqlite,
    };
    diesel::insert_into(transactions::table)
        .values((
            transactions::id.eq(&row.id),
            transactions::project_id.eq(&row.project_id),
            transactions::sequence.eq(row.sequence),
            transactions::kind.eq(&row.kind),
            transactions::effective_date.eq(row.effective_date),
            transactions::recorded_at.eq(row.recorded_at),
            transactions::description.eq(&row.description),
            transactions::metadata.eq(&row.metadata),
            transactions::reverses_id.eq(&row.reverses_id),
            transactions::previous_hash.eq(&row.previous_hash),
            transactions::hash.eq(&row.hash),
            transactions::recorded_by.eq(&row.recorded_by),
        ))
        .execute(sqlite)?;
    // One statement per posting, in order: each row's triggers check it
    // against the rows before it. In the service's own process a statement
    // costs no round trip.
    for posting in postings {
        diesel::insert_into(postings::table)
            .values(posting)
            .execute(sqlite)?;
    }
    Ok(())
}

mod sql {
    use diesel::sql_types::{Array, BigInt, Date, Nullable, Text, Timestamp};

    diesel::define_sql_function! {
        /// The migrations `transaction_in_one_round_trip` and
        /// `postings_applied_per_statement` (PostgreSQL): the transaction's
        /// row, then its postings by one `INSERT` in position order, whose
        /// statement trigger checks them as it checks any insert. Returns
        /// the count of postings inserted.
        #[allow(clippy::too_many_arguments)]
        fn insert_transaction(
            t_id: Text,
            t_project_id: Text,
            t_sequence: BigInt,
            t_kind: Text,
            t_effective_date: Date,
            t_recorded_at: Timestamp,
            t_description: Text,
            t_metadata: Text,
            t_reverses_id: Nullable<Text>,
            t_previous_hash: Text,
            t_hash: Text,
            t_recorded_by: Nullable<Text>,
            p_from_account_id: Array<Text>,
            p_to_account_id: Array<Text>,
            p_amount: Array<BigInt>,
            p_currency: Array<Text>,
            p_from_balance_after: Array<BigInt>,
            p_to_balance_after: Array<BigInt>,
        ) -> diesel::sql_types::Integer;
    }
}

/// On PostgreSQL a transaction's rows go in one round trip to the server
/// (a statement each was a round trip each: 1 + postings), by the function
/// the migration `transaction_in_one_round_trip` defines; the postings go
/// as one array a column.
fn insert_in_one_round_trip(
    pg: &mut diesel::PgConnection,
    row: &TransactionRow,
    postings: &[PostingRow],
) -> QueryResult<()> {
    let texts = |column: fn(&PostingRow) -> &str| postings.iter().map(column).collect::<Vec<_>>();
    let numbers = |column: fn(&PostingRow) -> i64| postings.iter().map(column).collect::<Vec<_>>();
    diesel::select(sql::insert_transaction(
        &row.id,
        &row.project_id,
        row.sequence,
        &row.kind,
        row.effective_date,
        row.recorded_at,
        &row.description,
        &row.metadata,
        &row.reverses_id,
        &row.previous_hash,
        &row.hash,
        &row.recorded_by,
        texts(|p| &p.from_account_id),
        texts(|p| &p.to_account_id),
        numbers(|p| p.amount),
        texts(|p| &p.currency),
        numbers(|p| p.from_balance_after),
        numbers(|p| p.to_balance_after),
    ))
    .execute(pg)?;
    Ok(())
}

/// A non-negative account is never below zero on any date, by effective
/// date, not only in posting order: a transaction dated before money that
/// is already posted with a later date may not spend that money before it
/// arrives. Checked for each non-negative account the transaction takes
/// money out of, against its movements dated after the transaction.
fn never_negative_by_date(
    conn: &mut DbConnection,
    transaction: &NewTransaction,
    balances: &crate::domain::transaction::Balances,
) -> Result<(), PostError> {
    let mut net: HashMap<&crate::domain::AccountName, i64> = HashMap::new();
    for posting in &transaction.postings {
        let amount = posting.amount.minor();
        *net.entry(&posting.from).or_default() -= amount;
        *net.entry(&posting.to).or_default() += amount;
    }
    let dated = transaction.effective_date;
    for (name, delta) in net {
        let Some(account) = balances.get(name).filter(|a| a.non_negative && delta < 0) else {
            continue;
        };
        let later: Vec<(NaiveDate, i64)> = postings::table
            .inner_join(transactions::table)
            .filter(transactions::effective_date.gt(dated))
            .filter(
                postings::from_account_id
                    .eq(&account.id)
                    .or(postings::to_account_id.eq(&account.id)),
            )
            .select((
                transactions::effective_date,
                postings::from_account_id,
                postings::amount,
            ))
            .load::<(NaiveDate, String, i64)>(conn)?
            .into_iter()
            .map(|(date, from, amount)| (date, if from == account.id { -amount } else { amount }))
            .collect();
        if let Some((date, balance)) = first_negative_day(account.balance, dated, &later) {
            return Err(PostError::Rule(TransactionError::NegativeOnDate {
                account: name.to_string(),
                unit: account.unit.clone(),
                scale: account.scale,
                dated,
                date,
                balance,
            }));
        }
    }
    Ok(())
}

/// Moves the running value totals of the accounts `rows` touch
/// ([`value_movement`]) when the transaction counts as a distribution or a
/// payout: its own kind, or for a reversal the kind of what it undoes.
fn keep_value_totals(
    conn: &mut DbConnection,
    kind: TransactionKind,
    reverses: Option<&str>,
    rows: &[PostingRow],
    balances: &Balances,
) -> Result<(), PostError> {
    let counted = match reverses {
        Some(original) => {
            let kind: String = transactions::table
                .find(original)
                .select(transactions::kind)
                .first(conn)?;
            TransactionKind::parse(&kind)
        }
        None => Some(kind),
    };
    let Some(counted) = counted.filter(|kind| moves_value_totals(*kind)) else {
        return Ok(());
    };
    // At most 500 postings of at most 10^15 each: no sum here overflows.
    let mut deltas: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for posting in rows {
        for (account, into) in [
            (&posting.from_account_id, false),
            (&posting.to_account_id, true),
        ] {
            let (earned, paid) = value_movement(counted, into, posting.amount);
            let total = deltas.entry(account.as_str()).or_default();
            *total = (total.0.saturating_add(earned), total.1.saturating_add(paid));
        }
    }
    match accounts::add_to_value_totals(conn, &deltas)? {
        None => Ok(()),
        Some(id) => {
            let name = balances
                .iter()
                .find(|(_, account)| account.id == id)
                .map_or(id, |(name, _)| name.to_string());
            Err(PostError::Rule(TransactionError::BalanceOverflow(name)))
        }
    }
}

pub fn find(
    conn: &mut DbConnection,
    project_id: &str,
    id: &str,
) -> QueryResult<Option<TransactionRecord>> {
    let row: Option<TransactionRow> = transactions::table
        .filter(transactions::project_id.eq(project_id))
        .filter(transactions::id.eq(id))
        .select(TransactionRow::as_select())
        .first(conn)
        .optional()?;
    match row {
        Some(row) => Ok(attach_postings(conn, vec![row], (None, None))?.pop()),
        None => Ok(None),
    }
}

/// A page of transactions in ledger order (by sequence), after `after_sequence`.
pub fn list(
    conn: &mut DbConnection,
    project_id: &str,
    filter: &TransactionFilter,
    after_sequence: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<TransactionRecord>> {
    let mut query = transactions::table
        .filter(transactions::project_id.eq(project_id.to_owned()))
        .select(TransactionRow::as_select())
        .order(transactions::sequence)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after_sequence {
        query = query.filter(transactions::sequence.gt(after));
    }
    if let Some(until) = filter.until_sequence {
        query = query.filter(transactions::sequence.le(until));
    }
    if let Some(from) = filter.from {
        query = query.filter(transactions::effective_date.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(transactions::effective_date.le(to));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(transactions::kind.eq(kind.clone()));
    }
    if let Some((from, to)) = filter.adjusting {
        let originals = diesel::alias!(transactions as originals);
        let dated = originals.field(transactions::effective_date);
        let id = originals.field(transactions::id).nullable();
        query = query.filter(transactions::effective_date.gt(to));
        query = match from {
            Some(from) => query.filter(
                transactions::reverses_id
                    .eq_any(originals.filter(dated.between(from, to)).select(id)),
            ),
            None => query.filter(
                transactions::reverses_id.eq_any(originals.filter(dated.le(to)).select(id)),
            ),
        };
    }
    if let Some(account_id) = &filter.account_id {
        let touching = postings::table
            .filter(
                postings::from_account_id
                    .eq(account_id.clone())
                    .or(postings::to_account_id.eq(account_id.clone())),
            )
            .select(postings::transaction_id);
        query = query.filter(transactions::id.eq_any(touching));
    }
    let rows = query.load(conn)?;
    attach_postings(conn, rows, (filter.to, filter.until_sequence))
}

/// Loads postings (with account names) and reversal links for `rows`: the
/// reversals dated up to `to` and posted up to `until`, when given.
fn attach_postings(
    conn: &mut DbConnection,
    rows: Vec<TransactionRow>,
    (to, until): (Option<NaiveDate>, Option<i64>),
) -> QueryResult<Vec<TransactionRecord>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let posting_rows: Vec<PostingRow> = postings::table
        .filter(postings::transaction_id.eq_any(&ids))
        .order((postings::transaction_id, postings::position))
        .select(PostingRow::as_select())
        .load(conn)?;
    let mut account_ids: Vec<String> = posting_rows
        .iter()
        .flat_map(|p| [p.from_account_id.clone(), p.to_account_id.clone()])
        .collect();
    account_ids.sort();
    account_ids.dedup();
    let names: HashMap<String, String> = accounts::names_by_id(conn, &account_ids)?
        .into_iter()
        .collect();
    // As of the filter's end: a reversal dated after `to` (or posted after
    // the snapshot) is not shown, so a report of a period reads the same
    // whatever is corrected later.
    let mut reversals = transactions::table
        .filter(transactions::reverses_id.eq_any(&ids))
        .select((
            transactions::reverses_id.assume_not_null(),
            transactions::id,
        ))
        .into_boxed();
    if let Some(to) = to {
        reversals = reversals.filter(transactions::effective_date.le(to));
    }
    if let Some(until) = until {
        reversals = reversals.filter(transactions::sequence.le(until));
    }
    let reversals: HashMap<String, String> = reversals
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let mut by_transaction: HashMap<String, Vec<EntryPosting>> = HashMap::new();
    for p in posting_rows {
        let name = |id: &str| names.get(id).cloned().unwrap_or_default();
        by_transaction
            .entry(p.transaction_id.clone())
            .or_default()
            .push(EntryPosting {
                from: name(&p.from_account_id),
                to: name(&p.to_account_id),
                amount: p.amount,
                currency: p.currency,
                from_balance_after: p.from_balance_after,
                to_balance_after: p.to_balance_after,
            });
    }
    rows.into_iter()
        .map(|row| {
            let postings = by_transaction.remove(&row.id).unwrap_or_default();
            let reversed_by = reversals.get(&row.id).cloned();
            TransactionRecord::read(row, postings, reversed_by)
        })
        .collect()
}

/// The latest effective date in a project's ledger.
pub fn last_effective_date(
    conn: &mut DbConnection,
    project_id: &str,
) -> QueryResult<Option<NaiveDate>> {
    let dates: Vec<NaiveDate> = transactions::table
        .filter(transactions::project_id.eq(project_id))
        .select(transactions::effective_date)
        .order(transactions::effective_date.desc())
        .limit(1)
        .load(conn)?;
    Ok(dates.first().copied())
}

/// The sequence of the project's latest transaction, if any.
pub fn last_sequence(conn: &mut DbConnection, project_id: &str) -> QueryResult<Option<i64>> {
    transactions::table
        .filter(transactions::project_id.eq(project_id))
        .select(diesel::dsl::max(transactions::sequence))
        .first(conn)
}

/// The postings into an account (`into`) or out of it, each joined with
/// its transaction.
pub fn postings_on(
    account_id: &str,
    into: bool,
) -> IntoBoxed<'static, InnerJoin<postings::table, transactions::table>, MultiBackend> {
    let query = postings::table.inner_join(transactions::table).into_boxed();
    if into {
        query.filter(postings::to_account_id.eq(account_id.to_owned()))
    } else {
        query.filter(postings::from_account_id.eq(account_id.to_owned()))
    }
}

/// An account's balance from the postings effective before `date` (up to
/// the snapshot `until_sequence`): money in minus money out. In 128 bits:
/// what flowed in alone may pass the 64 bits a running balance fits in.
pub fn balance_before(
    conn: &mut DbConnection,
    account_id: &str,
    date: NaiveDate,
    until_sequence: i64,
) -> QueryResult<i128> {
    let mut total: i128 = 0;
    for into in [true, false] {
        let query = postings_on(account_id, into);
        let amounts: Vec<i64> = query
            .filter(transactions::effective_date.lt(date))
            .filter(transactions::sequence.le(until_sequence))
            .select(postings::amount)
            .load(conn)?;
        // Fewer than 2^64 postings of at most 2^63 each: no i128 overflow.
        let sum: i128 = amounts.iter().map(|amount| i128::from(*amount)).sum();
        total = if into { total + sum } else { total - sum };
    }
    Ok(total)
}
