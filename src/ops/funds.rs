//! Money received: a grant or donation posted from its funder's account
//! into the general pool or, when restricted, into a pool of its own; and
//! a grant's figures read back from the ledger.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{Error, FieldProblem, Missing, Refusal};
use crate::db::accounts::AccountRow;
use crate::db::funds::{ExpenseRow, GrantRow, PayoutRow, PendingRecord, ReleaseRow};
use crate::db::projects::Project;
use crate::db::transactions::{Poster, TransactionRecord};
use crate::db::{self, DbConnection};
use crate::domain::funds::{
    GrantFigures, PendingStatus, Pool, PoolMovement, check_decision, grant_figures,
    needs_second_person, restricted_outflow,
};
use crate::domain::money::Overflow;
use crate::domain::transaction::TransactionError;
use crate::domain::{
    AccountName, Amount, NewPosting, NewTransaction, TransactionKind, Unit, UnitKind, managed,
};

/// A grant or donation as asked for, checked as far as it can be without
/// the database, with the problems found so far.
#[derive(Debug, Clone)]
pub struct NewGrant {
    pub funder: String,
    /// [`TransactionKind::Grant`] or [`TransactionKind::Donation`].
    pub kind: TransactionKind,
    pub reference: String,
    pub amount: String,
    pub currency: String,
    pub received_on: Option<NaiveDate>,
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
    pub restriction: Option<String>,
    pub eligible_categories: Vec<String>,
    /// Whether its money may pay contributors (a distribution from its pool).
    pub distributable: bool,
    pub description: String,
    pub problems: Vec<FieldProblem>,
}

/// Records `grant`, received by `recorder`: the funder's account and the
/// pool are opened as needed, and one ledger transaction moves the money.
pub fn receive_grant(
    conn: &mut DbConnection,
    project: &Project,
    recorder: &str,
    grant: &NewGrant,
) -> Result<GrantRow, Error> {
    // Serialise writers of this project first, so the reference check holds.
    db::projects::lock(conn, &project.id)?;
    let funder = db::agents::find(conn, &grant.funder)?
        .ok_or_else(|| Error::UnknownAgent(grant.funder.clone()))?;
    let (unit, amount, received_on) = money_on(
        conn,
        (&grant.amount, &grant.currency),
        grant.received_on,
        &grant.problems,
    )?;
    let reference = grant.reference.clone();
    if db::funds::grant_by_reference(conn, &project.id, &reference)?.is_some() {
        return Err(Error::Refused(Refusal::DuplicateReference(reference)));
    }
    let unit = db::projects::ensure_unit(conn, &unit)?;
    let funder_account =
        managed::funder(&funder.id, &project.currency, unit.code()).map_err(Error::corrupt)?;
    open(conn, project, &funder_account, unit.code(), false)?;
    let pool = match &grant.restriction {
        Some(_) => {
            let name = managed::grant_pool(&reference, unit.code(), unit.code()).map_err(|_| {
                Error::invalid(
                    "reference",
                    "invalid_account_name",
                    "a restricted grant's reference names its pool: letters, digits, '.', '_' and '-'",
                )
            })?;
            if db::accounts::find(conn, &project.id, name.as_str())?.is_some() {
                return Err(Error::Refused(Refusal::DuplicateReference(reference)));
            }
            name
        }
        None => managed::general_pool(&project.currency, unit.code()).map_err(Error::corrupt)?,
    };
    open(conn, project, &pool, unit.code(), true)?;
    let description = if grant.description.is_empty() {
        format!("{} {reference}", grant.kind.as_str())
    } else {
        grant.description.clone()
    };
    let record = post(
        conn,
        (project, recorder),
        grant.kind,
        received_on,
        description,
        serde_json::json!({"reference": reference, "funder": funder.id}),
        vec![(funder_account, pool.clone(), amount, unit.code())],
    )?;
    let row = GrantRow {
        id: uuid::Uuid::now_v7().to_string(),
        project_id: project.id.to_string(),
        funder_id: funder.id.into_string(),
        kind: grant.kind.as_str().to_owned(),
        reference,
        amount: amount.minor(),
        currency: unit.code().to_owned(),
        received_on,
        period_start: grant.period_start,
        period_end: grant.period_end,
        restriction: grant.restriction.clone(),
        eligible_categories: grant.eligible_categories.join(","),
        pool_account: pool.to_string(),
        transaction_id: record.row.id,
        created_by: recorder.to_owned(),
        created_at: db::now(),
        distributable: i32::from(grant.distributable),
    };
    db::funds::insert_grant(conn, &row)?;
    Ok(row)
}

/// An expense as asked for, checked as far as it can be without the
/// database, with the problems found so far.
#[derive(Debug, Clone)]
pub struct NewExpense {
    /// The grant whose restricted money pays it (default: the general pool).
    pub grant: Option<String>,
    pub category: String,
    pub supplier: String,
    pub date: Option<NaiveDate>,
    pub description: String,
    pub receipt_uri: Option<String>,
    pub amount: String,
    pub currency: String,
    pub problems: Vec<FieldProblem>,
}

/// Records `expense`: from the grant's pool (if its category is eligible)
/// or the general pool, to the category's expense account.
pub fn record_expense(
    conn: &mut DbConnection,
    project: &Project,
    recorder: &str,
    expense: &NewExpense,
) -> Result<ExpenseRow, Error> {
    let (unit, amount, date) = money_on(
        conn,
        (&expense.amount, &expense.currency),
        expense.date,
        &expense.problems,
    )?;
    let category = expense.category.clone();
    if db::funds::category(conn, &project.id, &category)?.is_none() {
        return Err(Error::Refused(Refusal::UnknownCategory(category)));
    }
    let (grant, pool) = expense_pool(conn, project, expense.grant.as_deref(), &category, &unit)?;
    let unit = db::projects::ensure_unit(conn, &unit)?;
    let pending = waits_for_second_person(project, (recorder, None), &unit, amount);
    let mut row = ExpenseRow {
        id: uuid::Uuid::now_v7().to_string(),
        project_id: project.id.to_string(),
        grant_id: grant.map(|g| g.id),
        pool_account: pool.to_string(),
        category,
        supplier: expense.supplier.clone(),
        date,
        description: expense.description.clone(),
        receipt_uri: expense.receipt_uri.clone(),
        amount: amount.minor(),
        currency: unit.code().to_owned(),
        transaction_id: None,
        created_by: recorder.to_owned(),
        created_at: db::now(),
        status: PendingStatus::of(pending),
        decided_by: None,
        decided_at: None,
        rejection_reason: None,
    };
    if !pending {
        row.transaction_id = Some(post_expense(conn, (project, recorder), &row)?.row.id);
    }
    db::funds::insert_expense(conn, &row)?;
    Ok(row)
}

/// Four eyes for money of `amount` in `unit` that `recorder` records in
/// `project`, paid to `payee` if anyone: [`needs_second_person`] with the
/// project's `four_eyes_above`, a threshold in the project's currency.
/// Expenses and payouts are held alike.
fn waits_for_second_person(
    project: &Project,
    (recorder, payee): (&str, Option<&str>),
    unit: &Unit,
    amount: Amount,
) -> bool {
    needs_second_person(
        recorder,
        payee,
        amount.minor(),
        unit.code() == project.currency,
        project.four_eyes_above,
    )
}

/// Posts an expense's transaction: from its pool to the category's
/// expense account of its currency (both opened as needed, only then: a
/// pending expense leaves the ledger as it was).
fn post_expense(
    conn: &mut DbConnection,
    (project, by): (&Project, &str),
    row: &ExpenseRow,
) -> Result<TransactionRecord, Error> {
    let pool = AccountName::parse(&row.pool_account).map_err(Error::corrupt)?;
    open(conn, project, &pool, &row.currency, true)?;
    let sink = managed::expense(&row.category, &project.currency, &row.currency)
        .map_err(Error::corrupt)?;
    open(conn, project, &sink, &row.currency, false)?;
    let description = if row.description.is_empty() {
        format!("{}: {}", row.category, row.supplier)
    } else {
        row.description.clone()
    };
    post_stored(
        conn,
        (project, by),
        (TransactionKind::Expense, row.date, "an expense"),
        (
            description,
            serde_json::json!({"category": row.category, "supplier": row.supplier, "grant": row.grant_id}),
        ),
        (pool, sink),
        (row.amount, &row.currency),
    )
}

/// `decider` decides a pending expense (four eyes, above the project's
/// `four_eyes_above`): approved, its transaction is posted now, with the
/// ledger's rules checked then; rejected, nothing is posted.
pub fn decide_expense(
    conn: &mut DbConnection,
    project: &Project,
    decider: &str,
    id: &str,
    decision: &Decision,
) -> Result<ExpenseRow, Error> {
    decide_pending(
        conn,
        (project, decider),
        (id, Missing::Expense),
        decision,
        |_| true,
        |conn, row| post_expense(conn, (project, decider), row),
    )
}

/// `decider` decides the pending money `id` of `project` (four eyes),
/// found only where it `belongs`: only a pending one, once, and never by
/// its recorder. Approved, `post` posts its transaction now, with the
/// ledger's rules checked then; rejected, nothing is posted. Payouts,
/// expenses and releases are decided alike.
fn decide_pending<R: PendingRecord>(
    conn: &mut DbConnection,
    (project, decider): (&Project, &str),
    (id, missing): (&str, Missing),
    decision: &Decision,
    belongs: impl FnOnce(&R) -> bool,
    post: impl FnOnce(&mut DbConnection, &R) -> Result<TransactionRecord, Error>,
) -> Result<R, Error> {
    db::projects::lock(conn, &project.id)?;
    let row = R::locked(conn, &project.id, id)?
        .filter(belongs)
        .ok_or(Error::NotFound(missing))?;
    let status = row.status();
    check_decision(status, row.created_by(), decider)
        .map_err(|refusal| Error::Refused(Refusal::of_decision(refusal, status.as_str())))?;
    let (posted, reason) = match decision {
        Decision::Approve => (Some(post(conn, &row)?.row.id), None),
        Decision::Reject { reason } => (None, Some(reason.as_str())),
    };
    R::decide(conn, row.id(), decider, posted.as_deref(), reason)?;
    R::locked(conn, &project.id, id)?.ok_or(Error::NotFound(missing))
}

/// The pool an expense of `category` in `unit` is paid from: the grant's
/// own pool when a grant is named (refused unless the category is one the
/// grant allows), else the general pool of the currency.
pub fn expense_pool(
    conn: &mut DbConnection,
    project: &Project,
    grant: Option<&str>,
    category: &str,
    unit: &Unit,
) -> Result<(Option<GrantRow>, AccountName), Error> {
    let grant = grant.map(|id| find_grant(conn, project, id)).transpose()?;
    let pool = match &grant {
        Some(grant) => {
            let eligible: Vec<&str> = grant
                .eligible_categories
                .split(',')
                .filter(|c| !c.is_empty())
                .collect();
            if !eligible.is_empty() && !eligible.contains(&category) {
                return Err(Error::Refused(Refusal::RestrictedPurpose(format!(
                    "{} (categories {})",
                    grant.restriction.clone().unwrap_or_default(),
                    eligible.join(", ")
                ))));
            }
            grant_money(project, grant, unit.code())?
        }
        None => managed::general_pool(&project.currency, unit.code()).map_err(Error::corrupt)?,
    };
    Ok((grant, pool))
}

/// The grant `id` of `project`; an unknown one is not found.
pub(super) fn find_grant(
    conn: &mut DbConnection,
    project: &Project,
    id: &str,
) -> Result<GrantRow, Error> {
    db::funds::grant(conn, &project.id, id)?.ok_or(Error::NotFound(Missing::Grant))
}

/// Where a grant's money in `currency` lies: a restricted grant's own pool
/// for that currency (its own currency, or one it was exchanged into), or
/// for unrestricted money the general pool of the currency.
pub fn grant_money(
    project: &Project,
    grant: &GrantRow,
    currency: &str,
) -> Result<AccountName, Error> {
    let name = if grant.restriction.is_some() {
        managed::grant_pool(&grant.reference, &grant.currency, currency)
    } else {
        managed::general_pool(&project.currency, currency)
    };
    name.map_err(Error::corrupt)
}

/// A payout as asked for, with the problems found so far.
#[derive(Debug, Clone)]
pub struct NewPayout {
    pub agent: String,
    pub method: String,
    pub reference: String,
    pub date: Option<NaiveDate>,
    pub amount: String,
    pub currency: String,
    pub problems: Vec<FieldProblem>,
}

/// Records `payout`: what the project owes the contributor goes down, the
/// method's payout account up. Four eyes: a payout to its recorder is
/// recorded `pending` and posts nothing until another owner or treasurer
/// approves it ([`decide_payout`]).
pub fn record_payout(
    conn: &mut DbConnection,
    project: &Project,
    recorder: &str,
    payout: &NewPayout,
) -> Result<PayoutRow, Error> {
    let agent = db::agents::find(conn, &payout.agent)?
        .ok_or_else(|| Error::UnknownAgent(payout.agent.clone()))?;
    let (unit, amount, date) = money_on(
        conn,
        (&payout.amount, &payout.currency),
        payout.date,
        &payout.problems,
    )?;
    let unit = db::projects::ensure_unit(conn, &unit)?;
    let pending = waits_for_second_person(project, (recorder, Some(&agent.id)), &unit, amount);
    let mut row = PayoutRow {
        id: uuid::Uuid::now_v7().to_string(),
        project_id: project.id.to_string(),
        agent_id: agent.id.into_string(),
        method: payout.method.clone(),
        reference: payout.reference.clone(),
        date,
        amount: amount.minor(),
        currency: unit.code().to_owned(),
        transaction_id: None,
        created_by: recorder.to_owned(),
        created_at: db::now(),
        status: PendingStatus::of(pending),
        decided_by: None,
        decided_at: None,
        rejection_reason: None,
    };
    if !pending {
        row.transaction_id = Some(
            post_payout(conn, (project, recorder), &row, &agent.name)?
                .row
                .id,
        );
    }
    db::funds::insert_payout(conn, &row)?;
    Ok(row)
}

/// Posts a payout's transaction: from the contributor's account to the
/// method's payout account (both opened as needed, only then: a pending
/// payout leaves the ledger as it was).
fn post_payout(
    conn: &mut DbConnection,
    (project, by): (&Project, &str),
    row: &PayoutRow,
    agent_name: &str,
) -> Result<TransactionRecord, Error> {
    let owed = managed::contributor(&row.agent_id).map_err(Error::corrupt)?;
    open(conn, project, &owed, &row.currency, true)?;
    let sink =
        managed::payout(&row.method, &project.currency, &row.currency).map_err(Error::corrupt)?;
    open(conn, project, &sink, &row.currency, false)?;
    let (method, reference) = (&row.method, &row.reference);
    post_stored(
        conn,
        (project, by),
        (TransactionKind::Payout, row.date, "a payout"),
        (
            format!("payout to {agent_name} ({method} {reference})"),
            serde_json::json!({"agent": row.agent_id, "method": method, "reference": reference}),
        ),
        (owed, sink),
        (row.amount, &row.currency),
    )
}

/// A decision on pending money: approve (post it), or reject it for a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject { reason: String },
}

/// `decider` decides a pending payout: approved, its transaction is
/// posted now (the ledger's rules checked then: a contributor is paid no
/// more than they are owed); rejected, nothing is posted. Only another
/// person than its recorder decides, once.
pub fn decide_payout(
    conn: &mut DbConnection,
    project: &Project,
    decider: &str,
    id: &str,
    decision: &Decision,
) -> Result<PayoutRow, Error> {
    decide_pending(
        conn,
        (project, decider),
        (id, Missing::Payout),
        decision,
        |_| true,
        |conn, row: &PayoutRow| {
            let agent = db::agents::find(conn, &row.agent_id)?
                .ok_or_else(|| Error::corrupt("a payout's agent is missing"))?;
            post_payout(conn, (project, decider), row, &agent.name)
        },
    )
}

/// An exchange of one currency for another, with the problems found so far.
#[derive(Debug, Clone)]
pub struct NewExchange {
    pub sell: (String, String),
    pub buy: (String, String),
    pub date: Option<NaiveDate>,
    /// Where the rate comes from (a bank statement, a rate source).
    pub source: String,
    /// The grant whose money is exchanged: a restricted grant's stays
    /// restricted (from its pool in one currency to its pool in the other);
    /// default: the general pools.
    pub grant: Option<String>,
    pub problems: Vec<FieldProblem>,
}

/// Records `exchange`: two legs, each through the currency's exchange
/// account, between the general pools of the two currencies, or a
/// restricted grant's pools of the two (its money stays its own, and
/// restricted); the rate (buy / sell) is recorded with it.
pub fn record_exchange(
    conn: &mut DbConnection,
    (project, by): (&Project, &str),
    exchange: &NewExchange,
) -> Result<TransactionRecord, Error> {
    let mut problems = exchange.problems.clone();
    let sell = money(
        conn,
        ("sell.amount", "sell.currency"),
        &exchange.sell.0,
        &exchange.sell.1,
        &mut problems,
    )?;
    let buy = money(
        conn,
        ("buy.amount", "buy.currency"),
        &exchange.buy.0,
        &exchange.buy.1,
        &mut problems,
    )?;
    let (Some((sell_unit, sell)), Some((buy_unit, buy)), Some(date), true) =
        (sell, buy, exchange.date, problems.is_empty())
    else {
        return Err(Error::Invalid(problems));
    };
    let sell_unit = db::projects::ensure_unit(conn, &sell_unit)?;
    let buy_unit = db::projects::ensure_unit(conn, &buy_unit)?;
    let rate = exchange_rate(
        buy.minor(),
        buy_unit.scale(),
        sell.minor(),
        sell_unit.scale(),
    )?;
    let name = |made: Result<AccountName, _>| made.map_err(Error::corrupt);
    let grant = exchange
        .grant
        .as_deref()
        .map(|id| find_grant(conn, project, id))
        .transpose()?;
    let (from_pool, to_pool) = match &grant {
        Some(grant) => (
            grant_money(project, grant, sell_unit.code())?,
            grant_money(project, grant, buy_unit.code())?,
        ),
        None => (
            name(managed::general_pool(&project.currency, sell_unit.code()))?,
            name(managed::general_pool(&project.currency, buy_unit.code()))?,
        ),
    };
    let sell_exchange = name(managed::exchange(sell_unit.code()))?;
    let buy_exchange = name(managed::exchange(buy_unit.code()))?;
    open(conn, project, &from_pool, sell_unit.code(), true)?;
    open(conn, project, &to_pool, buy_unit.code(), true)?;
    open(conn, project, &sell_exchange, sell_unit.code(), false)?;
    open(conn, project, &buy_exchange, buy_unit.code(), false)?;
    post(
        conn,
        (project, by),
        TransactionKind::Exchange,
        date,
        format!(
            "exchange {} {} for {} {}",
            sell.format(&sell_unit),
            sell_unit.code(),
            buy.format(&buy_unit),
            buy_unit.code()
        ),
        serde_json::json!({"rate": rate.to_string(), "rate_source": exchange.source,
            "sell": sell_unit.code(), "buy": buy_unit.code(),
            "grant": grant.as_ref().map(|grant| &grant.id)}),
        vec![
            (from_pool, sell_exchange, sell, sell_unit.code()),
            (buy_exchange, to_pool, buy, buy_unit.code()),
        ],
    )
}

/// The rate recorded with an exchange, buy / sell, to 10 decimals. Both
/// amounts are bounded, so the quotient fits; it is checked all the same.
fn exchange_rate(
    buy: i64,
    buy_scale: u32,
    sell: i64,
    sell_scale: u32,
) -> Result<Decimal, Overflow> {
    let overflow = Overflow("the exchange rate");
    let buy = Decimal::try_new(buy, buy_scale).map_err(|_| overflow)?;
    let sell = Decimal::try_new(sell, sell_scale).map_err(|_| overflow)?;
    Ok(buy.checked_div(sell).ok_or(overflow)?.round_dp(10))
}

/// A grant's figures from the ledger: what it received, spent and
/// distributed, its pool's balance now with what approved runs reserve of
/// it, and the reversal that undid it.
pub fn figures(
    conn: &mut DbConnection,
    grant: &GrantRow,
) -> Result<(GrantFigures, db::accounts::Holding, Option<String>), Error> {
    let pool = db::accounts::find(conn, &grant.project_id, &grant.pool_account)?
        .ok_or_else(|| Error::corrupt("a grant's pool is missing"))?;
    let grant_tx = db::transactions::find(conn, &grant.project_id, &grant.transaction_id)?
        .ok_or_else(|| Error::corrupt("a grant's transaction is missing"))?;
    // A reversal whose original is not found counts as none of the three.
    let pool_movements: Vec<PoolMovement> = db::funds::counted_movements(conn, &pool.id)?
        .into_iter()
        .filter_map(|movement| {
            Some(PoolMovement {
                kind: movement.kind?,
                amount: movement.amount,
                into: movement.into,
            })
        })
        .collect();
    let share = if grant.restriction.is_none() {
        Pool::Shared {
            amount: grant.amount,
            reversed: grant_tx.reversed_by.is_some(),
        }
    } else {
        Pool::Own
    };
    let holding = pool_holding(conn, &pool)?;
    Ok((
        grant_figures(pool_movements, share),
        holding,
        grant_tx.reversed_by,
    ))
}

/// What a grant's `pool` holds now, with what approved runs reserve of it:
/// a grant's figures show it, and a release is checked against it.
fn pool_holding(
    conn: &mut DbConnection,
    pool: &AccountRow,
) -> Result<db::accounts::Holding, Error> {
    db::accounts::holdings(conn, std::slice::from_ref(pool))?
        .pop()
        .ok_or_else(|| Error::corrupt("a grant's pool is missing"))
}

/// Opens (once) a managed account. An account of that name that exists
/// already is used only if it carries the flag the operation needs and,
/// where its name fixes one, its currency; else the operation is refused
/// (`AccountConflict`) rather than adopt, say, an overdraftable pool.
pub fn open(
    conn: &mut DbConnection,
    project: &Project,
    name: &AccountName,
    currency: &str,
    non_negative: bool,
) -> Result<AccountRow, Error> {
    let row = db::accounts::ensure(conn, &project.id, name, currency, non_negative)?;
    check_adoptable(project, &row, non_negative)?;
    Ok(row)
}

/// [`open`] for many accounts of one unit and flag at once (a
/// distribution's contributors), by [`db::accounts::ensure_all`].
pub fn open_all(
    conn: &mut DbConnection,
    project: &Project,
    names: &[AccountName],
    currency: &str,
    non_negative: bool,
) -> Result<Vec<AccountRow>, Error> {
    let rows = db::accounts::ensure_all(conn, &project.id, names, currency, non_negative)?;
    for row in &rows {
        check_adoptable(project, row, non_negative)?;
    }
    Ok(rows)
}

/// [`managed::adoptable`] for the account `row` of `project`, opened for an
/// operation that needs `non_negative`: refused as an `AccountConflict`
/// when it cannot serve. [`open`] and [`open_all`] check each account so.
fn check_adoptable(project: &Project, row: &AccountRow, non_negative: bool) -> Result<(), Refusal> {
    managed::adoptable(
        &row.name,
        &project.currency,
        (&row.currency, row.non_negative),
        non_negative,
    )
    .map_err(Refusal::AccountConflict)
}

/// Posts a generic transaction (`transfer`, `adjustment`) of the ledger
/// endpoint, or one of a batch, through `poster`: never out of a
/// restricted grant's pool.
pub fn post_transaction(
    conn: &mut DbConnection,
    poster: &mut Poster<'_>,
    transaction: &NewTransaction,
) -> Result<TransactionRecord, Error> {
    if let Some((index, posting)) = restricted_outflow(&transaction.postings) {
        return Err(Refusal::RestrictedFunds(format!(
            "posting {index} takes money out of `{}`, a restricted grant's pool: it leaves only by an eligible expense, a distribution of a distributable grant, an exchange that keeps it the grant's (`POST .../exchanges` with `grant`), a release (`POST .../grants/{{grant_id}}/releases`) or a reversal",
            posting.from
        ))
        .into());
    }
    poster.post(conn, transaction, None).map_err(Error::from)
}

/// A release as asked for, with the problems found so far.
#[derive(Debug, Clone)]
pub struct NewRelease {
    pub grant: String,
    pub amount: String,
    /// Default: the grant's currency.
    pub currency: Option<String>,
    pub date: Option<NaiveDate>,
    /// Why the money may go, e.g. the funder's written consent.
    pub reason: String,
    pub problems: Vec<FieldProblem>,
}

/// Releases money of a restricted grant, by `recorder`: one `release`
/// transaction from the grant's pool to the general pool of its currency,
/// and its record.
pub fn release(
    conn: &mut DbConnection,
    project: &Project,
    recorder: &str,
    release: &NewRelease,
) -> Result<ReleaseRow, Error> {
    db::projects::lock(conn, &project.id)?;
    let grant = find_grant(conn, project, &release.grant)?;
    let currency = release.currency.as_deref().unwrap_or(&grant.currency);
    let (unit, amount, date) = money_on(
        conn,
        (&release.amount, currency),
        release.date,
        &release.problems,
    )?;
    if grant.restriction.is_none() {
        return Err(Refusal::NotRestricted(grant.reference).into());
    }
    // The grant's pool of the currency must exist: money is released only
    // from where the grant holds it.
    let pool = grant_money(project, &grant, unit.code())?;
    let Some(pool_row) = db::accounts::find(conn, &project.id, pool.as_str())? else {
        return Err(TransactionError::CurrencyMismatch {
            index: 0,
            account: grant.pool_account,
            account_unit: grant.currency,
            posting_unit: unit.code().to_owned(),
        }
        .into());
    };
    // Asked for more than is free now, it is refused at once; what is free
    // is checked again when it is approved and posted.
    let holding = pool_holding(conn, &pool_row)?;
    check_funds(
        (&pool_row.name, unit.code(), unit.scale()),
        holding,
        amount.minor(),
    )?;
    let row = ReleaseRow {
        id: uuid::Uuid::now_v7().to_string(),
        project_id: project.id.to_string(),
        grant_id: grant.id,
        amount: amount.minor(),
        currency: unit.code().to_owned(),
        date,
        reason: release.reason.clone(),
        transaction_id: None,
        created_by: recorder.to_owned(),
        created_at: db::now(),
        // Four eyes: every release waits for another owner or treasurer.
        status: PendingStatus::Pending,
        decided_by: None,
        decided_at: None,
        rejection_reason: None,
    };
    db::projects::ensure_unit(conn, &unit)?;
    db::funds::insert_release(conn, &row)?;
    Ok(row)
}

/// Posts a release's transaction: from the grant's pool of its currency to
/// the general pool of that currency.
fn post_release(
    conn: &mut DbConnection,
    (project, by): (&Project, &str),
    row: &ReleaseRow,
) -> Result<TransactionRecord, Error> {
    let grant = db::funds::grant(conn, &project.id, &row.grant_id)?
        .ok_or_else(|| Error::corrupt("a release's grant is missing"))?;
    let pool = grant_money(project, &grant, &row.currency)?;
    let general =
        managed::general_pool(&project.currency, &row.currency).map_err(Error::corrupt)?;
    open(conn, project, &general, &row.currency, true)?;
    post_stored(
        conn,
        (project, by),
        (TransactionKind::Release, row.date, "a release"),
        (
            format!("release of {}: {}", grant.reference, row.reason),
            serde_json::json!({"grant": grant.id, "reference": grant.reference, "reason": row.reason}),
        ),
        (pool, general),
        (row.amount, &row.currency),
    )
}

/// `decider` decides a pending release (four eyes, always): approved, its
/// transaction is posted now, with the ledger's rules (the grant's pool
/// holds it, reservations) checked then; rejected, nothing is posted.
pub fn decide_release(
    conn: &mut DbConnection,
    project: &Project,
    decider: &str,
    grant: &str,
    id: &str,
    decision: &Decision,
) -> Result<ReleaseRow, Error> {
    decide_pending(
        conn,
        (project, decider),
        (id, Missing::Release),
        decision,
        |row: &ReleaseRow| row.grant_id == grant,
        |conn, row| post_release(conn, (project, decider), row),
    )
}

/// Posts one ledger transaction of `kind` moving each `(from, to, amount,
/// currency)`, with the ledger's rules: atomic, balanced, non-negative
/// accounts checked under their locks.
pub fn post(
    conn: &mut DbConnection,
    (project, by): (&Project, &str),
    kind: TransactionKind,
    date: NaiveDate,
    description: String,
    metadata: serde_json::Value,
    legs: Vec<(AccountName, AccountName, Amount, &str)>,
) -> Result<TransactionRecord, Error> {
    let transaction = NewTransaction {
        kind,
        effective_date: date,
        description,
        metadata: metadata.to_string(),
        postings: legs
            .into_iter()
            .map(|(from, to, amount, unit)| NewPosting {
                from,
                to,
                amount,
                unit: unit.to_owned(),
            })
            .collect(),
    };
    db::transactions::post(conn, (&project.id, by), &transaction, None).map_err(Error::from)
}

/// Posts the one movement a stored record of money stands for (an expense,
/// a payout, a release, an approved claim): its `amount` in minor units of
/// `currency`, as stored, from `from` to `to`, as a transaction of `kind`
/// on `date` with its `description` and `metadata`. The service never
/// stores an amount out of range: one is corrupt data in the record `what`.
pub(super) fn post_stored(
    conn: &mut DbConnection,
    (project, by): (&Project, &str),
    (kind, date, what): (TransactionKind, NaiveDate, &str),
    (description, metadata): (String, serde_json::Value),
    (from, to): (AccountName, AccountName),
    (amount, currency): (i64, &str),
) -> Result<TransactionRecord, Error> {
    let amount =
        Amount::from_minor(amount).ok_or_else(|| Error::corrupt(format!("{what}'s amount")))?;
    post(
        conn,
        (project, by),
        kind,
        date,
        description,
        metadata,
        vec![(from, to, amount, currency)],
    )
}

/// Parses an amount of money in a currency (not a declared unit), with the
/// currency's scale as stored if used before, naming the fields that are
/// wrong (`amount_field`, `currency_field`) among `problems`.
pub fn money(
    conn: &mut DbConnection,
    (amount_field, currency_field): (&str, &str),
    amount: &str,
    currency: &str,
    problems: &mut Vec<FieldProblem>,
) -> Result<Option<(Unit, Amount)>, Error> {
    let unit = match db::projects::stored_unit(conn, currency)? {
        Some(unit) => Some(unit),
        None => Unit::lookup(currency).ok(),
    };
    let Some(unit) = unit.filter(|u| u.kind() == UnitKind::Currency) else {
        problems.push(FieldProblem::new(
            currency_field,
            "unknown_currency",
            format!("`{currency}` is not a currency"),
        ));
        return Ok(None);
    };
    Ok(match Amount::parse(amount, &unit) {
        Ok(parsed) => Some((unit, parsed)),
        Err(error) => {
            problems.push(FieldProblem::new(amount_field, error.code(), &error));
            None
        }
    })
}

/// The money and date of a request whose every field parsed: its `amount`
/// and `currency` as [`money`] reads them, on `date`; or, when either is
/// missing or any field is wrong, every problem found (the request's
/// `problems` found before, then the money's). Grants, expenses, payouts,
/// releases and claims are checked alike.
pub(super) fn money_on(
    conn: &mut DbConnection,
    (amount, currency): (&str, &str),
    date: Option<NaiveDate>,
    problems: &[FieldProblem],
) -> Result<(Unit, Amount, NaiveDate), Error> {
    let mut problems = problems.to_vec();
    let money = money(
        conn,
        ("amount", "currency"),
        amount,
        currency,
        &mut problems,
    )?;
    match (money, date, problems.is_empty()) {
        (Some((unit, amount)), Some(date), true) => Ok((unit, amount, date)),
        _ => Err(Error::Invalid(problems)),
    }
}

/// No promises without funds: a draft, and an approval, cannot exceed what
/// the pool holds that approved runs do not already reserve.
pub(super) fn check_funds(
    (account, unit, scale): (&str, &str, u32),
    holding: db::accounts::Holding,
    amount: i64,
) -> Result<(), Error> {
    if amount > holding.available() {
        return Err(TransactionError::InsufficientFunds {
            index: 0,
            account: account.to_owned(),
            unit: unit.to_owned(),
            scale,
            balance: holding.balance,
            reserved: holding.reserved,
            amount,
        }
        .into());
    }
    Ok(())
}
