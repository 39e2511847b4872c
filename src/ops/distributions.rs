//! A distribution run's lifecycle: a draft computed from a read snapshot
//! and recorded in a short write that re-checks what it read, approvals,
//! one atomic execution, or a cancellation.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use super::{Error, FieldProblem, Missing, Refusal};
use crate::db::distributions::{DistributionRow, Run, StoredInputs};
use crate::db::projects::Project;
use crate::db::{self, DbConnection};
use crate::domain::allocation::{Basis, Plan, apportion};
use crate::domain::contribution::ContributionKind;
use crate::domain::distribution::{
    ExplainedLine, ExplainedTransfer, PayeesError, RunStatus, check_approver, explain, payees,
};
use crate::domain::funds::{SourceRefusal, distribution_source};
use crate::domain::money::Overflow;
use crate::domain::{
    AccountName, Amount, NewPosting, NewTransaction, TransactionError, TransactionKind, Unit,
    managed,
};

/// Which pool a draft distributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The pool of this grant of the project.
    Grant(String),
    /// The account of this name.
    Pool(String),
    /// The general pool of the project's currency.
    General,
}

/// How much a draft distributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Share {
    /// Everything the pool holds.
    All,
    /// A decimal amount in the pool's currency.
    Amount(String),
}

/// A draft as the caller asked for it, parsed as far as it can be without
/// the database: the problems found so far travel with it, to be reported
/// together with the amount's.
#[derive(Debug, Clone)]
pub struct DraftRequest {
    pub source: Source,
    pub share: Share,
    pub period: Option<(NaiveDate, NaiveDate)>,
    pub problems: Vec<FieldProblem>,
}

/// A draft computed in a read snapshot, with what its write re-checks.
#[derive(Debug, Clone)]
pub struct Draft {
    pool: String,
    pool_balance: i64,
    whole_pool: bool,
    unit: Unit,
    amount: i64,
    period: (NaiveDate, NaiveDate),
    /// The project revision the contributions were read at.
    revision: i64,
    inputs: StoredInputs,
    plan: Plan,
}

/// Computes a draft of a rule set version over the approved contributions of the
/// period: reads only, so it runs in a read snapshot outside the writer.
pub fn compute_draft(
    conn: &mut DbConnection,
    project: &Project,
    rule_set_version: i32,
    request: &DraftRequest,
) -> Result<Draft, Error> {
    let rules = db::distributions::rules(conn, &project.id, rule_set_version)?
        .ok_or(Error::NotFound(Missing::RuleSet))?;
    let pool_name = match &request.source {
        Source::Grant(grant) => super::funds::find_grant(conn, project, grant)?.pool_account,
        Source::Pool(pool) => pool.clone(),
        Source::General => managed::general_pool(&project.currency, &project.currency)
            .map_err(Error::corrupt)?
            .to_string(),
    };
    check_source(conn, &project.id, &pool_name)?;
    let pool = db::accounts::find(conn, &project.id, &pool_name)?
        .ok_or_else(|| TransactionError::UnknownAccount(pool_name.clone()))?;
    let unit = db::projects::stored_unit(conn, &pool.currency)?
        .ok_or_else(|| Error::corrupt(format!("the unit {} of a pool", pool.currency)))?;
    let mut problems = request.problems.clone();
    let holding = holding(conn, &project.id, &pool, None)?;
    let amount = match &request.share {
        Share::All => Amount::from_minor(holding.available()).ok_or_else(|| {
            let why = if holding.reserved > 0 {
                "the pool's money is all reserved by approved runs"
            } else {
                "the pool is empty"
            };
            FieldProblem::new("amount", "amount_not_positive", why)
        }),
        Share::Amount(text) => {
            Amount::parse(text, &unit).map_err(|e| FieldProblem::new("amount", e.code(), &e))
        }
    };
    let amount = amount.map_err(|problem| problems.push(problem)).ok();
    let (Some(amount), Some(period), true) = (amount, request.period, problems.is_empty()) else {
        return Err(Error::Invalid(problems));
    };
    super::funds::check_funds(
        (&pool.name, &pool.currency, unit.scale()),
        holding,
        amount.minor(),
    )?;
    // Of the same snapshot as the contributions: a decision made since
    // changes it, and the write finds the draft out of date.
    let revision = db::projects::revision(conn, &project.id)?;
    let (bases, elsewhere) = approved_bases(conn, &project.id, &pool.currency, period)?;
    if !elsewhere.is_empty() {
        return Err(Refusal::ExchangeFirst {
            pool: pool.name,
            currency: pool.currency,
            valued_in: elsewhere.into_iter().collect::<Vec<_>>().join(", "),
        }
        .into());
    }
    let basis_list: Vec<Basis> = bases
        .iter()
        .map(|(agent, kinds)| Basis {
            agent: agent.clone(),
            value_by_kind: kinds.clone(),
        })
        .collect();
    let plan = apportion(&rules, amount.minor(), unit.scale(), &basis_list)?;
    Ok(Draft {
        pool: pool.name,
        pool_balance: pool.balance,
        whole_pool: request.share == Share::All,
        unit,
        amount: amount.minor(),
        period,
        revision,
        inputs: StoredInputs::new(rules.residue.clone(), bases, revision),
        plan,
    })
}

/// Per contributor, per kind: the approved value of the period in the
/// pool's currency, corrections counted instead of what they replace,
/// summed by the database; and the other currencies the period's
/// contributions are valued in (a pool of one currency cannot pay for value
/// counted in another: it is exchanged first).
#[allow(clippy::type_complexity)]
fn approved_bases(
    conn: &mut DbConnection,
    project_id: &str,
    currency: &str,
    period: (NaiveDate, NaiveDate),
) -> Result<(BTreeMap<String, BTreeMap<String, i64>>, BTreeSet<String>), Error> {
    let mut bases: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    let mut elsewhere = BTreeSet::new();
    for sum in db::contributions::approved_sums(conn, project_id, period)? {
        if sum.currency != currency {
            elsewhere.insert(sum.currency);
            continue;
        }
        let kind = ContributionKind::parse(&sum.kind)
            .ok_or_else(|| Error::corrupt(format!("a contribution of kind `{}`", sum.kind)))?;
        let value = i64::try_from(sum.value)
            .map_err(|_| Overflow("a contributor's approved value of one kind"))?;
        bases
            .entry(sum.agent_id)
            .or_default()
            .insert(kind.as_str().to_owned(), value);
    }
    Ok((bases, elsewhere))
}

/// Pools are pools, and restricted money pays contributors only when its
/// grant says so: a distribution draws only from a pool account, and from a
/// restricted grant's pool only if the grant is `distributable`.
fn check_source(conn: &mut DbConnection, project_id: &str, pool: &str) -> Result<(), Error> {
    let distributable = if managed::is_restricted_pool(pool) {
        db::funds::grant_by_pool(conn, project_id, managed::grant_pool_base(pool))?
            .map(|grant| grant.distributable != 0)
    } else {
        None
    };
    distribution_source(pool, distributable).map_err(|refusal| {
        Error::Refused(match refusal {
            SourceRefusal::NotAPool => Refusal::NotAPool(pool.to_owned()),
            SourceRefusal::Restricted => Refusal::RestrictedFunds(format!(
                "`{pool}` holds a restricted grant's money, and the grant is not distributable: its money pays contributors only if the grant says so (`distributable`), or once released to the general pool"
            )),
        })
    })
}

/// A pool's balance and what approved runs (but `except`) reserve of it.
fn holding(
    conn: &mut DbConnection,
    project_id: &str,
    pool: &db::accounts::AccountRow,
    except: Option<&str>,
) -> Result<db::accounts::Holding, Error> {
    let reserved = db::distributions::reserved(conn, project_id, &[&pool.name], except)?;
    Ok(db::accounts::Holding {
        balance: pool.balance,
        reserved: reserved.get(&pool.name).copied().unwrap_or(0),
    })
}

/// What of a draft is written before the project's lock: its selection, on
/// PostgreSQL, where it is the longest part of the draft's write (it reads
/// every counted contribution) and other writes to the project would wait
/// for it under the lock. Nothing on SQLite, whose writes are one at a time
/// in any case.
#[derive(Debug)]
pub struct Staged {
    /// The run's id, chosen before its row is written.
    id: String,
    selected: bool,
}

/// Writes what of `draft` need not wait for the project's lock (see
/// [`Staged`]), in the write's transaction, before [`record_draft`] takes
/// the lock. The selection is the contributions the draft summed: if any
/// changed since, the revision [`record_draft`] checks under the lock has
/// moved, and the whole write is refused and rolled back.
pub fn stage_draft(
    conn: &mut DbConnection,
    project_id: &str,
    draft: &Draft,
) -> Result<Staged, Error> {
    let id = uuid::Uuid::now_v7().to_string();
    let selected = matches!(conn, DbConnection::Postgresql(_));
    if selected {
        let run = (project_id, id.as_str(), draft.unit.code());
        db::contributions::record_selection(conn, run, draft.period)?;
    }
    Ok(Staged { id, selected })
}

/// Records a computed draft by `author`, after checking, under the
/// project's lock, that nothing it read has changed: the project revision
/// and the pool (it still holds the amount; a draft of everything still
/// holds what was read). `staged` is what [`stage_draft`] wrote of it.
pub fn record_draft(
    conn: &mut DbConnection,
    project: &Project,
    author: &str,
    rule_set_version: i32,
    (draft, staged): (&Draft, &Staged),
) -> Result<Run, Error> {
    db::projects::lock(conn, &project.id)?;
    if db::projects::revision_locked(conn, &project.id)? != draft.revision {
        return Err(Error::Changed(
            "the project's contributions, rates or members",
        ));
    }
    check_source(conn, &project.id, &draft.pool)?;
    let pool = db::accounts::find(conn, &project.id, &draft.pool)?
        .ok_or_else(|| TransactionError::UnknownAccount(draft.pool.clone()))?;
    if draft.whole_pool && pool.balance != draft.pool_balance {
        return Err(Error::Changed("the pool's balance"));
    }
    if pool.currency != draft.unit.code() {
        // An account's unit never changes; a selection by another would be wrong.
        return Err(Error::corrupt("a pool's unit changed"));
    }
    let holding = holding(conn, &project.id, &pool, None)?;
    let unit = (
        pool.name.as_str(),
        pool.currency.as_str(),
        draft.unit.scale(),
    );
    super::funds::check_funds(unit, holding, draft.amount)?;
    let row = DistributionRow {
        id: staged.id.clone(),
        project_id: project.id.to_string(),
        rule_set_version,
        pool_account: pool.name,
        currency: pool.currency,
        amount: draft.amount,
        period_from: draft.period.0,
        period_to: draft.period.1,
        status: RunStatus::Draft.as_str().to_owned(),
        inputs: draft.inputs.to_json()?,
        plan: serde_json::to_string(&draft.plan).map_err(Error::corrupt)?,
        residue: draft.plan.residue,
        created_by: author.to_owned(),
        created_at: db::now(),
        transaction_id: None,
        decided_at: None,
    };
    db::distributions::insert(conn, &row)?;
    if !staged.selected {
        // The same contributions the draft summed: the revision is unchanged.
        let run = (project.id.as_str(), row.id.as_str(), row.currency.as_str());
        db::contributions::record_selection(conn, run, draft.period)?;
    }
    Ok(Run::try_from(row)?)
}

/// A run under its lock, for a change of state.
fn locked(conn: &mut DbConnection, project: &Project, id: &str) -> Result<Run, Error> {
    db::distributions::lock(conn, id)?;
    db::distributions::run(conn, &project.id, id)?.ok_or(Error::NotFound(Missing::Distribution))
}

/// `approver` approves a draft; with enough distinct approvals it is approved.
pub fn approve(
    conn: &mut DbConnection,
    project: &Project,
    approver: &str,
    id: &str,
) -> Result<Run, Error> {
    let run = locked(conn, project, id)?;
    let required = project.distribution_approvals_required;
    // The state first: approving a run that is not a draft is that.
    run.status.approve(0, required)?;
    let approvers = db::distributions::approvers(conn, &run.id)?;
    let names: Vec<&str> = approvers.iter().map(|(a, _)| a.as_str()).collect();
    check_approver(&run.created_by, approver, &names)?;
    // Four eyes: only approvals by people other than the author count (an
    // author's approval recorded before the rule changed counts for none).
    let by_others = names.iter().filter(|a| **a != run.created_by).count();
    let after = run.status.approve(by_others + 1, required)?;
    if after == RunStatus::Approved {
        reserve(conn, project, &run)?;
    }
    db::distributions::insert_approval(conn, &run.id, approver)?;
    if after != run.status {
        db::distributions::set_status(conn, &run.id, after, None)?;
    }
    reread(conn, project, id)
}

/// The approval that makes `run` approved reserves its amount in its pool:
/// under the pool's lock (which every posting out of it takes too), the
/// amount must fit in what the pool holds that other approved runs do not
/// reserve already.
fn reserve(conn: &mut DbConnection, project: &Project, run: &Run) -> Result<(), Error> {
    let name = AccountName::parse(&run.pool_account).map_err(Error::corrupt)?;
    let states = db::accounts::lock_and_load(conn, &project.id, std::slice::from_ref(&name), None)?;
    let pool = states
        .get(&name)
        .ok_or_else(|| TransactionError::UnknownAccount(run.pool_account.clone()))?;
    let holding = db::accounts::Holding {
        balance: pool.balance,
        reserved: pool.reserved,
    };
    let unit = (run.pool_account.as_str(), pool.unit.as_str(), pool.scale);
    super::funds::check_funds(unit, holding, run.amount)
}

/// Executes an approved run: one ledger transaction from its pool to every
/// payee (contributors' accounts opened as needed), re-checking the pool.
/// Executes the approved run `id`, its transaction dated `date` (the day of
/// the execution by default: its contribution period stays on the run).
pub fn execute(
    conn: &mut DbConnection,
    (project, by): (&Project, &str),
    id: &str,
    date: NaiveDate,
) -> Result<Run, Error> {
    let run = locked(conn, project, id)?;
    let executed = run.status.execute()?;
    check_source(conn, &project.id, &run.pool_account)?;
    let pool = AccountName::parse(&run.pool_account).map_err(Error::corrupt)?;
    let payees = payees(&run.plan, &run.inputs.rules_residue, |agent| {
        managed::contributor(agent).map_err(|e| PayeesError::AccountName(e.to_string()))
    })
    .map_err(|error| match error {
        PayeesError::Empty => Error::PaysNobody,
        PayeesError::Overflow(overflow) => Error::Overflow(overflow),
        PayeesError::AccountName(what) => Error::Corrupt(what),
    })?;
    let contributors: Vec<AccountName> = payees
        .iter()
        .filter(|payee| payee.contributor)
        .map(|payee| payee.account.clone())
        .collect();
    super::funds::open_all(conn, project, &contributors, &run.currency, true)?;
    let mut postings = Vec::with_capacity(payees.len());
    for payee in payees {
        if let Some(amount) = Amount::from_minor(payee.amount) {
            postings.push(NewPosting {
                from: pool.clone(),
                to: payee.account,
                amount,
                unit: run.currency.clone(),
            });
        }
    }
    let transaction = NewTransaction {
        kind: TransactionKind::Distribution,
        effective_date: date,
        description: format!(
            "distribution run {} (rule set v{})",
            run.id, run.rule_set_version
        ),
        metadata:
            serde_json::json!({"distribution": run.id, "rule_set_version": run.rule_set_version})
                .to_string(),
        postings,
    };
    let record = db::transactions::post_for_run(conn, (&project.id, by), &transaction, &run.id)?;
    db::distributions::set_status(conn, &run.id, executed, Some(&record.row.id))?;
    reread(conn, project, id)
}

/// Cancels a draft or approved run.
pub fn cancel(conn: &mut DbConnection, project: &Project, id: &str) -> Result<Run, Error> {
    let run = locked(conn, project, id)?;
    let cancelled = run.status.cancel()?;
    db::distributions::set_status(conn, &run.id, cancelled, None)?;
    reread(conn, project, id)
}

fn reread(conn: &mut DbConnection, project: &Project, id: &str) -> Result<Run, Error> {
    db::distributions::run(conn, &project.id, id)?.ok_or(Error::NotFound(Missing::Distribution))
}

/// A run as shown: its lines and transfers in words, and its approvals.
#[derive(Debug, Clone)]
pub struct RunView {
    pub run: Run,
    pub unit: Unit,
    pub transfers: Vec<ExplainedTransfer>,
    pub lines: Vec<ExplainedLine>,
    pub approvals: Vec<(String, chrono::NaiveDateTime)>,
}

/// Explains `run` and reads its approvals.
pub fn view(conn: &mut DbConnection, run: Run) -> Result<RunView, Error> {
    let unit = db::projects::stored_unit(conn, &run.currency)?
        .ok_or_else(|| Error::corrupt(format!("the unit {} of a run", run.currency)))?;
    let (transfers, lines) = explain(
        &run.plan,
        &run.inputs.bases,
        &unit,
        (run.period_from, run.period_to),
    )?;
    let approvals = db::distributions::approvers(conn, &run.id)?;
    Ok(RunView {
        run,
        unit,
        transfers,
        lines,
        approvals,
    })
}
