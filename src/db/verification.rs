//! Ledger verification: recompute a project's hash chain and every balance
//! from the stored rows, and report the first discrepancy. It reads the
//! tables directly, never the service's own records of them, and within one
//! snapshot (one read transaction; REPEATABLE READ on PostgreSQL), so a
//! write landing meanwhile cannot look like tampering.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;

use super::DbConnection;
use super::schema::{accounts, postings, projects, transactions};
use super::transactions::{PostingRow, TransactionRow};
use crate::domain::TransactionKind;
use crate::domain::hash::GENESIS_HASH;
use crate::domain::transaction::{moves_value_totals, value_movement};

/// Transactions read per query.
const PAGE: i64 = 1_000;

/// What verification found in one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub transaction: Option<String>,
    /// The account concerned, by name.
    pub account: Option<String>,
    /// What recomputing gives.
    pub expected: String,
    /// What is stored.
    pub found: String,
    pub message: String,
}

struct Found {
    code: &'static str,
    sequence: Option<i64>,
    transaction: Option<String>,
    account: Option<String>,
    expected: String,
    found: String,
    message: String,
}

/// Verifies `project_id` in the caller's snapshot ([`super::Database::snapshot`]:
/// every statement here must see the same state of the ledger). `None` if
/// there is no such project.
pub fn verify(conn: &mut DbConnection, project_id: &str) -> QueryResult<Option<Verification>> {
    let head: Option<(i64, String)> = projects::table
        .find(project_id)
        .select((projects::last_sequence, projects::last_hash))
        .first(conn)
        .optional()?;
    let Some((head_sequence, head_hash)) = head else {
        return Ok(None);
    };
    let account_rows: Vec<(String, String, i64)> = accounts::table
        .filter(accounts::project_id.eq(project_id))
        .select((accounts::id, accounts::name, accounts::balance))
        .order(accounts::name)
        .load(conn)?;
    let mut totals = ValueTotals::default();
    let names: HashMap<String, String> = account_rows
        .iter()
        .map(|(id, name, _)| (id.clone(), name.clone()))
        .collect();
    let mut computed: BTreeMap<String, i64> = account_rows
        .iter()
        .map(|(id, _, _)| (id.clone(), 0))
        .collect();
    let mut report = Verification {
        project: project_id.to_owned(),
        ok: true,
        transactions_checked: 0,
        postings_checked: 0,
        accounts_checked: 0,
        head_sequence,
        head_hash: head_hash.clone(),
        events_checked: 0,
        events_head_sequence: 0,
        events_head_hash: GENESIS_HASH.to_owned(),
        discrepancy: None,
    };
    let mut previous_hash = GENESIS_HASH.to_owned();
    let mut previous_sequence = 0_i64;
    let mut found = None;
    'pages: loop {
        let rows: Vec<TransactionRow> = transactions::table
            .filter(transactions::project_id.eq(project_id))
            .filter(transactions::sequence.gt(previous_sequence))
            .order(transactions::sequence)
            .limit(PAGE)
            .select(TransactionRow::as_select())
            .load(conn)?;
        if rows.is_empty() {
            break;
        }
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut by_transaction: HashMap<String, Vec<PostingRow>> = HashMap::new();
        let posting_rows: Vec<PostingRow> = postings::table
            .filter(postings::transaction_id.eq_any(&ids))
            .order((postings::transaction_id, postings::position))
            .select(PostingRow::as_select())
            .load(conn)?;
        for posting in posting_rows {
            by_transaction
                .entry(posting.transaction_id.clone())
                .or_default()
                .push(posting);
        }
        let reversed: Vec<&String> = rows.iter().filter_map(|r| r.reverses_id.as_ref()).collect();
        let original_kinds: HashMap<String, String> = transactions::table
            .filter(transactions::id.eq_any(&reversed))
            .select((transactions::id, transactions::kind))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
        for row in &rows {
            let postings = by_transaction.remove(&row.id).unwrap_or_default();
            if let Some(problem) = check_transaction(
                row,
                &postings,
                previous_sequence,
                &previous_hash,
                &names,
                &mut computed,
            ) {
                found = Some(problem);
                break 'pages;
            }
            let counted = match &row.reverses_id {
                Some(original) => original_kinds.get(original).map_or("", String::as_str),
                None => row.kind.as_str(),
            };
            totals.count(TransactionKind::parse(counted), &postings);
            report.transactions_checked += 1;
            report.postings_checked += postings.len() as u64;
            previous_sequence = row.sequence;
            previous_hash = row.hash.clone();
        }
    }
    if found.is_none() && (previous_sequence, &previous_hash) != (head_sequence, &head_hash) {
        found = Some(Found {
            code: "head_mismatch",
            sequence: Some(head_sequence),
            transaction: None,
            account: None,
            expected: format!("{previous_sequence} {previous_hash}"),
            found: format!("{head_sequence} {head_hash}"),
            message: "the project's chain head is not its last transaction".to_owned(),
        });
    }
    if found.is_none() {
        for (id, name, balance) in &account_rows {
            let expected = computed.get(id).copied().unwrap_or(0);
            if expected != *balance {
                found = Some(Found {
                    code: "balance_mismatch",
                    sequence: None,
                    transaction: None,
                    account: Some(name.clone()),
                    expected: expected.to_string(),
                    found: balance.to_string(),
                    message: format!(
                        "account `{name}` holds {balance} minor units; its postings add up to {expected}"
                    ),
                });
                break;
            }
            report.accounts_checked += 1;
        }
    }
    if found.is_none() {
        found = totals.check(conn, project_id)?;
    }
    if found.is_none() {
        found = check_events(conn, project_id, &mut report)?;
    }
    if found.is_none() {
        found = check_selections(conn, project_id)?;
    }
    if let Some(problem) = found {
        report.ok = false;
        report.discrepancy = Some(Discrepancy {
            code: problem.code.to_owned(),
            sequence: problem.sequence,
            transaction: problem.transaction,
            account: problem.account,
            expected: problem.expected,
            found: problem.found,
            message: problem.message,
        });
    }
    Ok(Some(report))
}

/// The running value totals recomputed from the postings, per account id:
/// distributions earned and payouts received, in 128 bits.
#[derive(Default)]
struct ValueTotals(HashMap<String, (i128, i128)>);

impl ValueTotals {
    /// Adds what `postings`, counted as `counted`, move of the totals.
    fn count(&mut self, counted: Option<TransactionKind>, postings: &[PostingRow]) {
        let Some(counted) = counted.filter(|kind| moves_value_totals(*kind)) else {
            return;
        };
        for posting in postings {
            for (account, into) in [
                (&posting.from_account_id, false),
                (&posting.to_account_id, true),
            ] {
                let (earned, paid) = value_movement(counted, into, posting.amount);
                let total = self.0.entry(account.clone()).or_default();
                total.0 += i128::from(earned);
                total.1 += i128::from(paid);
            }
        }
    }

    /// The first account, by name, whose stored totals are not the
    /// recomputed ones.
    fn check(&self, conn: &mut DbConnection, project_id: &str) -> QueryResult<Option<Found>> {
        let stored: Vec<(String, String, i64, i64)> = accounts::table
            .filter(accounts::project_id.eq(project_id))
            .select((
                accounts::id,
                accounts::name,
                accounts::distributions_earned,
                accounts::payouts_received,
            ))
            .order(accounts::name)
            .load(conn)?;
        for (id, name, earned, paid) in stored {
            let (expected_earned, expected_paid) = self.0.get(&id).copied().unwrap_or_default();
            for (what, expected, found) in [
                ("distributions earned", expected_earned, earned),
                ("payouts received", expected_paid, paid),
            ] {
                if expected != i128::from(found) {
                    return Ok(Some(Found {
                        code: "value_total_mismatch",
                        sequence: None,
                        transaction: None,
                        account: Some(name.clone()),
                        expected: expected.to_string(),
                        found: found.to_string(),
                        message: format!(
                            "account `{name}` records {found} minor units of {what}; its postings give {expected}"
                        ),
                    }));
                }
            }
        }
        Ok(None)
    }
}

/// Checks one transaction against the one before it, and applies its
/// postings to the recomputed balances.
fn check_transaction(
    row: &TransactionRow,
    postings: &[PostingRow],
    previous_sequence: i64,
    previous_hash: &str,
    names: &HashMap<String, String>,
    computed: &mut BTreeMap<String, i64>,
) -> Option<Found> {
    let problem = |code: &'static str, expected: String, found: String, message: String| Found {
        code,
        sequence: Some(row.sequence),
        transaction: Some(row.id.clone()),
        account: None,
        expected,
        found,
        message,
    };
    if row.sequence != previous_sequence + 1 {
        return Some(problem(
            "sequence_gap",
            (previous_sequence + 1).to_string(),
            row.sequence.to_string(),
            "transactions are numbered without gaps".to_owned(),
        ));
    }
    if row.previous_hash != previous_hash {
        return Some(problem(
            "chain_broken",
            previous_hash.to_owned(),
            row.previous_hash.clone(),
            "the transaction does not follow the previous one's hash".to_owned(),
        ));
    }
    let hash = super::transactions::chain_hash(row, postings);
    if hash != row.hash {
        return Some(problem(
            "hash_mismatch",
            hash,
            row.hash.clone(),
            "the transaction's content does not match its hash: it was altered after posting"
                .to_owned(),
        ));
    }
    for posting in postings {
        for (account, delta, recorded) in [
            (
                &posting.from_account_id,
                -posting.amount,
                posting.from_balance_after,
            ),
            (
                &posting.to_account_id,
                posting.amount,
                posting.to_balance_after,
            ),
        ] {
            let Some(balance) = computed.get_mut(account) else {
                return Some(Found {
                    account: Some(account.clone()),
                    ..problem(
                        "unknown_account",
                        "an account of the project".to_owned(),
                        account.clone(),
                        "a posting names an account the project does not have".to_owned(),
                    )
                });
            };
            *balance = balance.saturating_add(delta);
            if *balance != recorded {
                let name = names.get(account).cloned().unwrap_or_default();
                return Some(Found {
                    account: Some(name.clone()),
                    ..problem(
                        "running_balance_mismatch",
                        balance.to_string(),
                        recorded.to_string(),
                        format!(
                            "posting {} records `{name}` at {recorded}; the postings before it give {balance}",
                            posting.position
                        ),
                    )
                });
            }
        }
    }
    None
}

/// The selections of the project's distribution runs recorded by number
/// (`distribution_selections`: an array on PostgreSQL, rows of
/// `distribution_selected` on SQLite and before), checked against the
/// contributions they name: each one named once, an approved, valued
/// contribution of the run's project, currency and period, the first run
/// (oldest first) where that fails reported. Nothing of this can change
/// once written, so a run selects today what it selected when drafted.
fn check_selections(conn: &mut DbConnection, project_id: &str) -> QueryResult<Option<Found>> {
    #[derive(QueryableByName)]
    struct Selection {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
        /// Numbers in the selection.
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        total: i64,
        /// Different contributions among them that the run may count.
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        countable: i64,
    }
    const COUNTABLE: &str = "c.seq = x.seq AND c.project_id = d.project_id \
         AND c.currency = d.currency AND c.status = 'approved' AND c.value IS NOT NULL \
         AND c.date >= d.period_from AND c.date <= d.period_to";
    let sql = if matches!(conn, DbConnection::Postgresql(_)) {
        format!(
            "SELECT d.id AS id, k.total, k.countable \
             FROM distributions d JOIN distribution_selections s ON s.distribution_id = d.id \
             CROSS JOIN LATERAL (SELECT COUNT(*) AS total, COUNT(DISTINCT c.seq) AS countable \
                 FROM (SELECT y.contribution_seq AS seq FROM distribution_selected y \
                       WHERE y.selection_seq = s.seq UNION ALL SELECT unnest(s.contribution_seqs)) x \
                 LEFT JOIN contributions c ON {COUNTABLE}) k \
             WHERE d.project_id = $1 AND k.total <> k.countable \
             ORDER BY d.created_at, d.id LIMIT 1"
        )
    } else {
        format!(
            "SELECT d.id AS id, COUNT(*) AS total, COUNT(DISTINCT c.seq) AS countable \
             FROM distributions d JOIN distribution_selections s ON s.distribution_id = d.id \
             JOIN (SELECT selection_seq, contribution_seq AS seq FROM distribution_selected) x \
                 ON x.selection_seq = s.seq \
             LEFT JOIN contributions c ON {COUNTABLE} \
             WHERE d.project_id = $1 GROUP BY d.id, d.created_at \
             HAVING COUNT(*) <> COUNT(DISTINCT c.seq) \
             ORDER BY d.created_at, d.id LIMIT 1"
        )
    };
    let wrong = diesel::sql_query(sql)
        .bind::<diesel::sql_types::Text, _>(project_id)
        .get_result::<Selection>(conn)
        .optional()?;
    Ok(wrong.map(|run| Found {
        code: "selection_mismatch",
        sequence: None,
        transaction: None,
        account: None,
        expected: run.countable.to_string(),
        found: run.total.to_string(),
        message: format!(
            "distribution run {} selects {} contributions; {} different approved, valued \
             contributions of its project, currency and period among them",
            run.id, run.total, run.countable
        ),
    }))
}

/// Checks the project's audit trail: its hash chain, and that the ledger
/// transactions its events name are the project's, posted by the event's
/// actor, each named once in ledger order, and that every transaction that
/// records who posted it is named by an event.
fn check_events(
    conn: &mut DbConnection,
    project_id: &str,
    report: &mut Verification,
) -> QueryResult<Option<Found>> {
    let (mut previous_sequence, mut previous_hash) = (0_i64, GENESIS_HASH.to_owned());
    let mut last_named = 0_i64;
    let mut named = 0_i64;
    loop {
        let rows = super::events::page(conn, project_id, previous_sequence, PAGE)?;
        if rows.is_empty() {
            break;
        }
        let ids: Vec<String> = rows
            .iter()
            .flat_map(|row| {
                serde_json::from_str::<Vec<String>>(&row.transactions).unwrap_or_default()
            })
            .collect();
        let posted: HashMap<String, (i64, Option<String>)> = transactions::table
            .filter(transactions::project_id.eq(project_id))
            .filter(transactions::id.eq_any(&ids))
            .select((
                transactions::id,
                transactions::sequence,
                transactions::recorded_by,
            ))
            .load::<(String, i64, Option<String>)>(conn)?
            .into_iter()
            .map(|(id, sequence, by)| (id, (sequence, by)))
            .collect();
        for row in &rows {
            let problem =
                |code: &'static str, expected: String, found: String, message: &str| Found {
                    code,
                    sequence: Some(row.sequence),
                    transaction: None,
                    account: None,
                    expected,
                    found,
                    message: message.to_owned(),
                };
            if row.sequence != previous_sequence + 1 {
                return Ok(Some(problem(
                    "event_sequence_gap",
                    (previous_sequence + 1).to_string(),
                    row.sequence.to_string(),
                    "events are numbered without gaps",
                )));
            }
            if row.previous_hash != previous_hash {
                return Ok(Some(problem(
                    "event_chain_broken",
                    previous_hash,
                    row.previous_hash.clone(),
                    "the event does not follow the previous one's hash",
                )));
            }
            let hash = super::events::chain_hash(row);
            if hash != row.hash {
                return Ok(Some(problem(
                    "event_hash_mismatch",
                    hash,
                    row.hash.clone(),
                    "the event's content does not match its hash: it was altered after it was recorded",
                )));
            }
            let Ok(names) = serde_json::from_str::<Vec<String>>(&row.transactions) else {
                return Ok(Some(problem(
                    "event_hash_mismatch",
                    "a JSON array of transaction ids".to_owned(),
                    row.transactions.clone(),
                    "the event's transactions are not a list of ids",
                )));
            };
            for id in names {
                let actor = Some(row.actor_id.clone());
                match posted.get(&id) {
                    Some((sequence, by)) if *sequence > last_named && *by == actor => {
                        last_named = *sequence;
                        named += 1;
                    }
                    other => {
                        return Ok(Some(Found {
                            transaction: Some(id.clone()),
                            ..problem(
                                "event_transaction_mismatch",
                                format!(
                                    "a transaction of the project after sequence {last_named}, posted by {}",
                                    row.actor_id
                                ),
                                other.map_or_else(
                                    || "none".to_owned(),
                                    |(sequence, by)| {
                                        format!(
                                            "sequence {sequence}, posted by {}",
                                            by.as_deref().unwrap_or("-")
                                        )
                                    },
                                ),
                                "the event names a transaction that is not one its actor posted after the previous event's",
                            )
                        }));
                    }
                }
            }
            report.events_checked += 1;
            previous_sequence = row.sequence;
            previous_hash = row.hash.clone();
        }
    }
    report.events_head_sequence = previous_sequence;
    report.events_head_hash = previous_hash;
    let recorded: i64 = transactions::table
        .filter(transactions::project_id.eq(project_id))
        .filter(transactions::recorded_by.is_not_null())
        .count()
        .get_result(conn)?;
    if recorded != named {
        return Ok(Some(Found {
            code: "unrecorded_transaction",
            sequence: None,
            transaction: None,
            account: None,
            expected: recorded.to_string(),
            found: named.to_string(),
            message: format!(
                "{recorded} transactions record who posted them, and the events name {named}: a transaction was posted or removed outside the audit trail"
            ),
        }));
    }
    Ok(None)
}

/// Every project's id, oldest first.
pub fn project_ids(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    projects::table
        .select(projects::id)
        .order(projects::created_at)
        .load(conn)
}
