//! Value accounts: what a contributor has given a project (by kind and by
//! month, approved and pending), for one project or across all of theirs.
//! Each figure is traceable through `GET .../contributions` with the same
//! `agent`, `kind`, `status`, `from` and `to` filters.

use commons_ledger_macros::operation;
use std::collections::HashMap;

use actix_web::{get, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::access::Caller;
use super::call::{ProjectCall, SignedIn};
use super::codes::Resource;
use super::dto::ContributionKindDto;
use super::problem::{ApiError, Problem};
use crate::db::projects::Project;
use crate::db::{self, Database, DbConnection};
use crate::domain::AccountName;
use crate::domain::Unit;
use crate::domain::access::Action;
use crate::domain::claims::{ClaimEntry, summarize_claims};
use crate::domain::contribution::{ValueEntry, ValueSummary, ValueSums, summarize};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_member_value_account)
        .service(get_my_value_account);
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ValueTotal {
    pub currency: String,
    /// Value of approved contributions that still stand.
    #[schema(example = "932.50")]
    pub approved: String,
    /// Value of contributions awaiting review.
    pub pending: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KindValue {
    pub kind: ContributionKindDto,
    pub currency: String,
    pub approved: String,
    pub pending: String,
    pub approved_count: u64,
    pub pending_count: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PeriodValue {
    /// Calendar month, `YYYY-MM`.
    #[schema(example = "2026-03")]
    pub period: String,
    pub kind: ContributionKindDto,
    pub currency: String,
    pub approved: String,
    pub pending: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ValueAccount {
    #[schema(format = Uuid)]
    pub project_id: String,
    pub project_name: String,
    #[schema(format = Uuid)]
    pub agent: String,
    pub totals: Vec<ValueTotal>,
    pub by_kind: Vec<KindValue>,
    pub by_period: Vec<PeriodValue>,
    /// Money side, from the contributor's ledger account
    /// (`contributor:<agent>`); empty until it has been opened.
    pub money: Vec<MoneyOwed>,
    /// The member's expense claims, per currency: how many and how much are
    /// pending, approved and rejected (`GET .../claims` lists them). An
    /// approved claim's amount is in `money`'s `balance_owed` until paid
    /// out, never in `distributions_earned`.
    pub claims: Vec<ClaimTotal>,
}

/// A member's expense claims in one currency, by status.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClaimTotal {
    pub currency: String,
    /// Awaiting a decision: nothing posted yet.
    pub pending_count: u64,
    #[schema(example = "42.80")]
    pub pending: String,
    /// Approved: posted as expenses, owed to the member until paid out.
    pub approved_count: u64,
    pub approved: String,
    /// Rejected: nothing posted.
    pub rejected_count: u64,
    pub rejected: String,
}

/// What the ledger says a contributor has earned, been paid and is owed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MoneyOwed {
    /// The ledger account behind these figures.
    pub account: String,
    pub currency: String,
    /// Paid into the account by distribution runs, net of reversals.
    pub distributions_earned: String,
    /// Paid out of the account as payouts, net of reversals.
    pub payouts_received: String,
    /// The account's balance: still owed.
    pub balance_owed: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MyValueAccount {
    #[schema(format = Uuid)]
    pub agent: String,
    /// One value account per project the caller belongs to.
    pub projects: Vec<ValueAccount>,
}

fn money(units: &HashMap<String, Unit>, currency: &str, minor: i128) -> String {
    let scale = units.get(currency).map_or(0, Unit::scale);
    crate::domain::money::format_minor_wide(minor, scale)
}

fn value_account(
    conn: &mut DbConnection,
    database: &Database,
    project: &Project,
    agent_id: &str,
) -> Result<ValueAccount, ApiError> {
    let project_id = project.id.as_str();
    let entries = value_entries(conn, project_id, agent_id)?;
    let account = contributor_account(conn, project_id, agent_id)?;
    let claims = db::claims::of_claimant(conn, project_id, agent_id)?;
    // The units of every figure, from the instance's cache (no statement
    // once they are in it): each is a stored row's, so stored.
    let codes = entries
        .iter()
        .filter_map(|entry| entry.value.as_ref().map(|(_, code)| code.as_str()))
        .chain(account.iter().map(|(_, row)| row.currency.as_str()))
        .chain(claims.iter().map(|row| row.currency.as_str()));
    let units = database.units_covering(conn, codes)?;
    let units: &HashMap<String, Unit> = &units;
    let summary = summarize(&entries);
    let owed = money_owed(account, units);
    let pair = |currency: &str, sums: &ValueSums| {
        let money = |minor| money(units, currency, minor);
        (money(sums.approved), money(sums.pending))
    };
    Ok(ValueAccount {
        project_id: project_id.to_owned(),
        project_name: project.name.clone(),
        agent: agent_id.to_owned(),
        totals: summary
            .totals
            .iter()
            .map(|(currency, sums)| {
                let (approved, pending) = pair(currency, sums);
                let currency = currency.clone();
                ValueTotal {
                    currency,
                    approved,
                    pending,
                }
            })
            .collect(),
        by_kind: summary
            .by_kind
            .iter()
            .map(|((kind, currency), sums)| {
                let (approved, pending) = pair(currency, sums);
                KindValue {
                    kind: ContributionKindDto::from(*kind),
                    currency: currency.clone(),
                    approved,
                    pending,
                    approved_count: sums.approved_count,
                    pending_count: sums.pending_count,
                }
            })
            .collect(),
        by_period: by_period(&summary, &pair),
        money: owed,
        claims: claim_totals(&claims, units),
    })
}

/// The member's expense claims summed per currency and status.
fn claim_totals(rows: &[db::claims::ClaimRow], units: &HashMap<String, Unit>) -> Vec<ClaimTotal> {
    let entries = rows.iter().map(|row| ClaimEntry {
        status: row.status,
        currency: &row.currency,
        amount: row.amount,
    });
    summarize_claims(entries)
        .into_iter()
        .map(|(currency, sums)| ClaimTotal {
            pending_count: sums.pending.count,
            pending: money(units, &currency, sums.pending.amount),
            approved_count: sums.approved.count,
            approved: money(units, &currency, sums.approved.amount),
            rejected_count: sums.rejected.count,
            rejected: money(units, &currency, sums.rejected.amount),
            currency,
        })
        .collect()
}

/// The approved and pending value per period, kind and currency.
fn by_period(
    summary: &ValueSummary,
    pair: &dyn Fn(&str, &ValueSums) -> (String, String),
) -> Vec<PeriodValue> {
    summary
        .by_period
        .iter()
        .map(|((period, kind, currency), sums)| {
            let (approved, pending) = pair(currency, sums);
            PeriodValue {
                period: period.clone(),
                kind: ContributionKindDto::from(*kind),
                currency: currency.clone(),
                approved,
                pending,
            }
        })
        .collect()
}

/// The agent's contributions in the project, read back exactly (an
/// unknown kind or status is a logged 500, never skipped).
fn value_entries(
    conn: &mut DbConnection,
    project_id: &str,
    agent_id: &str,
) -> Result<Vec<ValueEntry>, ApiError> {
    db::contributions::of_agent(conn, project_id, agent_id)?
        .into_iter()
        .map(|row| {
            Ok(ValueEntry {
                kind: row.kind,
                status: row.status,
                value: row.value.zip(row.currency),
                date: row.date,
                supersedes: row.supersedes_id,
                id: row.id,
            })
        })
        .collect()
}

/// The contributor's ledger account (`contributor:<agent>`) with its name,
/// if it has been opened.
fn contributor_account(
    conn: &mut DbConnection,
    project_id: &str,
    agent_id: &str,
) -> Result<Option<(AccountName, db::accounts::AccountRow)>, ApiError> {
    // An id that makes no account name has no account.
    let Ok(name) = crate::domain::managed::contributor(agent_id) else {
        return Ok(None);
    };
    Ok(db::accounts::find(conn, project_id, name.as_str())?.map(|row| (name, row)))
}

/// Distributions earned, payouts received and balance owed, from the
/// contributor's account row.
fn money_owed(
    account: Option<(AccountName, db::accounts::AccountRow)>,
    units: &HashMap<String, Unit>,
) -> Vec<MoneyOwed> {
    let Some((name, account)) = account else {
        return Vec::new();
    };
    // Running totals kept beside the balance by the posting path: one row
    // however many postings the account has.
    let earned = i128::from(account.distributions_earned);
    let paid = i128::from(account.payouts_received);
    vec![MoneyOwed {
        distributions_earned: money(units, &account.currency, earned),
        payouts_received: money(units, &account.currency, paid),
        balance_owed: money(units, &account.currency, i128::from(account.balance)),
        account: name.to_string(),
        currency: account.currency,
    }]
}

/// A member's value account
///
/// A member's value account in one project: contributed value by kind, the
/// share earned in distributions, what was paid and what is still owed. One's
/// own for any member; anyone's for owners, treasurers and auditors.
#[operation(get "/projects/{project_id}/members/{agent_id}/value-account", tag = "contributions",
    signed_in, params(id "agent_id" "The contributor"),
    responses(
        200 ValueAccount "The value account",
        403 "`forbidden`: contributors see only their own",
        404 "`project_not_found` or `agent_not_found`",
    ))]
pub async fn get_member_value_account(
    call: ProjectCall,
    path: web::Path<(String, String)>,
) -> Result<web::Json<ValueAccount>, ApiError> {
    let (_, agent_id) = path.into_inner();
    let own_id = agent_id.clone();
    let action = move |caller: &Caller| {
        let own = caller.agent().is_some_and(|me| me.id == own_id.as_str());
        Action::ReadValueAccount { own }
    };
    let database = call.state.db.clone();
    let account = call
        .read_as(action, move |conn, caller, project| {
            // The caller's own agent exists: only another's is looked up.
            if caller.agent().is_none_or(|me| me.id != agent_id.as_str()) {
                db::agents::find(conn, &agent_id)?.ok_or(ApiError::NotFound(Resource::Agent))?;
            }
            value_account(conn, &database, project, &agent_id)
        })
        .await?;
    Ok(web::Json(account))
}

/// My value accounts
///
/// The caller's value accounts across every project they belong to: contributed
/// value by kind, the share earned in distributions, what was paid and what is
/// still owed, in each project's currency.
#[operation(get "/me/value-account", tag = "contributions", signed_in,
    responses(200 MyValueAccount "The caller's value accounts"))]
pub async fn get_my_value_account(
    signed_in: SignedIn,
) -> Result<web::Json<MyValueAccount>, ApiError> {
    let database = signed_in.state.db.clone();
    let account = signed_in
        .read(move |conn, me| {
            let mut projects = Vec::new();
            for (_, project) in db::memberships::with_projects(conn, &me.id)? {
                projects.push(value_account(conn, &database, &project, &me.id)?);
            }
            Ok(MyValueAccount {
                agent: me.id.into_string(),
                projects,
            })
        })
        .await?;
    Ok(web::Json(account))
}
