//! `/v1/projects/{project_id}/distributions`: distribution runs. A POST is a
//! dry run (draft) that shows every line and why; distinct owners or
//! treasurers approve it; execution re-checks the pool and posts one atomic
//! ledger transaction. A run never distributes more than the pool holds.

use std::collections::{BTreeMap, HashSet};

use actix_web::{HttpResponse, get, post, web};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::access::{self, Caller};
use super::extract::{
    CursorKey, IdempotencyKey, JsonBody, decode_cursor, next_cursor, page_size, parse_date,
};
use super::funds::{self, Leg};
use super::limits;
use super::problem::{ApiError, FieldError, Problem};
use super::projects::PageQuery;
use super::write::{self, Idempotency, Reply};
use super::{AppState, read};
use crate::auth::{Authenticated, Credentials};
use crate::db::distributions::DistributionRow;
use crate::db::projects::ProjectRow;
use crate::db::{self, DbConnection};
use crate::domain::access::Action;
use crate::domain::account::ACCOUNT_NAME_LENGTH_MAX;
use crate::domain::allocation::{Basis, Plan, Residue, apportion, decimal_ratio};
use crate::domain::distribution::{PayeesError, RunStatus, check_approver, payees};
use crate::domain::managed;
use crate::domain::money::{Overflow, format_minor_wide};
use crate::domain::{AccountName, Amount, TransactionError, TransactionKind, Unit};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_distribution)
        .service(list_distributions)
        .service(get_distribution)
        .service(create_approval)
        .service(create_execution)
        .service(create_cancellation);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDistributionRequest {
    /// The rule set version applied (versions count from 1).
    #[schema(minimum = 1)]
    pub rule_set_version: i32,
    /// Distribute from this grant's pool; omit for `pool` or the general pool.
    #[schema(format = Uuid, max_length = 36)]
    pub grant: Option<String>,
    /// The pool account (default: the general pool of the project's currency).
    #[schema(max_length = 200)]
    pub pool: Option<String>,
    /// A positive decimal amount with at most the pool currency's decimals
    /// and 40 characters, at most what the pool holds (so at most 10^15 minor
    /// units), or `all` for everything the pool holds.
    #[schema(
        example = "4500.00",
        pattern = r"^([0-9]+(\.[0-9]+)?|all)$",
        max_length = 40
    )]
    pub amount: String,
    /// First day of the contribution period, inclusive.
    #[schema(example = "2026-03-01", format = Date, max_length = 10)]
    pub period_from: String,
    /// Last day of the period, inclusive.
    #[schema(example = "2026-03-31", format = Date, max_length = 10)]
    pub period_to: String,
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DistributionStatus {
    Draft,
    Approved,
    Executed,
    Cancelled,
}

/// One recipient line with its explanation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DistributionLine {
    /// Index of the waterfall step.
    pub step: usize,
    #[schema(format = Uuid)]
    pub agent: String,
    /// The contributor's approved value in the period (all kinds, unweighted;
    /// `share_percent` applies the kind weights).
    pub basis: String,
    /// Share of the step, in percent, to four decimals.
    pub share_percent: String,
    pub amount: String,
    /// What the largest-remainder method added: zero or one minor unit, as money.
    pub rounding_adjustment: String,
    /// What the cap took off, to residue.
    pub capped_by: String,
    /// Whether the line fell below the minimum and went to residue.
    pub dropped: bool,
    /// Why this amount, in words.
    pub explanation: String,
}

/// An amount a step pays to a named account.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountTransfer {
    pub step: usize,
    pub account: String,
    pub amount: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Approval {
    #[schema(format = Uuid)]
    pub approver: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Distribution {
    #[schema(format = Uuid)]
    pub id: String,
    pub status: DistributionStatus,
    pub rule_set_version: i32,
    pub pool: String,
    pub currency: String,
    pub amount: String,
    #[schema(format = Date)]
    pub period_from: String,
    #[schema(format = Date)]
    pub period_to: String,
    pub transfers: Vec<AccountTransfer>,
    pub lines: Vec<DistributionLine>,
    /// What caps, minimums, rounding and unplaced shares leave.
    pub residue: String,
    /// `pool`, `next_run` or `account:<name>`.
    pub residue_destination: String,
    pub approvals: Vec<Approval>,
    pub approvals_required: i32,
    /// The ledger transaction, once executed.
    #[schema(format = Uuid)]
    pub transaction: Option<String>,
    #[schema(format = Uuid)]
    pub created_by: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DistributionPage {
    pub items: Vec<Distribution>,
    pub next_cursor: Option<String>,
}

/// What a run was computed from, kept with it.
#[derive(Debug, Serialize, Deserialize)]
struct Inputs {
    rules_residue: Residue,
    /// Per agent, per kind: approved value in minor units.
    bases: BTreeMap<String, BTreeMap<String, i64>>,
    /// The project's revision (see `db::projects::revision`) the approved
    /// contributions were read at; absent in runs drafted before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    contributions_revision: Option<i64>,
    /// The approved contributions the bases were summed from, as runs
    /// drafted before the revision listed them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    contribution_ids: Vec<String>,
}

impl From<RunStatus> for DistributionStatus {
    fn from(status: RunStatus) -> Self {
        match status {
            RunStatus::Draft => DistributionStatus::Draft,
            RunStatus::Approved => DistributionStatus::Approved,
            RunStatus::Executed => DistributionStatus::Executed,
            RunStatus::Cancelled => DistributionStatus::Cancelled,
        }
    }
}

pub fn to_distribution(
    conn: &mut DbConnection,
    project: &ProjectRow,
    row: DistributionRow,
) -> Result<Distribution, ApiError> {
    let units = super::stored_units(conn)?;
    let unit = units.get(&row.currency).cloned().unwrap_or_else(|| {
        Unit::from_stored(row.currency.clone(), 2, crate::domain::UnitKind::Currency)
    });
    let money = |minor: i64| unit.format_minor(minor);
    let overflow = || Overflow("a line's share as a decimal");
    let plan: Plan =
        serde_json::from_str(&row.plan).map_err(|e| ApiError::Internal(e.to_string()))?;
    let inputs: Inputs =
        serde_json::from_str(&row.inputs).map_err(|e| ApiError::Internal(e.to_string()))?;
    let period = format!("{}..{}", row.period_from, row.period_to);
    let mut transfers = Vec::new();
    let mut lines = Vec::new();
    for step in &plan.steps {
        if let Some(account) = &step.account {
            transfers.push(AccountTransfer {
                step: step.index,
                account: account.clone(),
                amount: money(step.amount),
            });
        }
        let total_basis = step
            .lines
            .iter()
            .try_fold(0_i128, |total, line| total.checked_add(line.weight))
            .ok_or(Overflow("the sum of a step's weights"))?;
        for line in &step.lines {
            let kinds = inputs.bases.get(&line.agent).cloned().unwrap_or_default();
            // i128: a sum of a few i64 values cannot overflow it.
            let basis_minor: i128 = kinds.values().map(|v| i128::from(*v)).sum();
            let percent = if line.share_denominator > 0 {
                let hundredfold = line.weight.checked_mul(100).ok_or_else(overflow)?;
                decimal_ratio(hundredfold, 0, total_basis.max(1), 4).ok_or_else(overflow)?
            } else {
                Decimal::ZERO
            };
            let by_kind = kinds
                .iter()
                .map(|(kind, value)| format!("{kind} {}", money(*value)))
                .collect::<Vec<_>>()
                .join(", ");
            let exact = decimal_ratio(
                line.share_numerator,
                unit.scale(),
                line.share_denominator.max(1),
                4,
            )
            .ok_or_else(overflow)?;
            let mut explanation = format!(
                "{} approved value ({by_kind}) in {period}: {} % of the step's {} = {exact} exactly",
                format_minor_wide(basis_minor, unit.scale()),
                percent.round_dp(2),
                money(step.amount),
            );
            if line.rounding_adjustment > 0 {
                explanation.push_str(&format!(
                    ", +{} by largest remainder",
                    money(line.rounding_adjustment)
                ));
            }
            if line.capped_by > 0 {
                explanation.push_str(&format!(", capped: {} to residue", money(line.capped_by)));
            }
            if line.dropped {
                explanation.push_str(", below the minimum payout: to residue");
            }
            explanation.push_str(&format!("; paid {}", money(line.amount)));
            lines.push(DistributionLine {
                step: step.index,
                agent: line.agent.clone(),
                basis: format_minor_wide(basis_minor, unit.scale()),
                share_percent: percent.to_string(),
                amount: money(line.amount),
                rounding_adjustment: money(line.rounding_adjustment),
                capped_by: money(line.capped_by),
                dropped: line.dropped,
                explanation,
            });
        }
    }
    let approvals = db::distributions::approvers(conn, &row.id)?
        .into_iter()
        .map(|(approver, at)| Approval {
            approver,
            created_at: db::format_timestamp(at),
        })
        .collect();
    Ok(Distribution {
        status: RunStatus::parse(&row.status)?.into(),
        amount: money(row.amount),
        residue: money(row.residue),
        residue_destination: match &inputs.rules_residue {
            Residue::Pool => "pool".to_owned(),
            Residue::NextRun => "next_run".to_owned(),
            Residue::Account { account } => format!("account:{account}"),
        },
        period_from: row.period_from.to_string(),
        period_to: row.period_to.to_string(),
        approvals,
        approvals_required: project.distribution_approvals_required,
        created_at: db::format_timestamp(row.created_at),
        transfers,
        lines,
        id: row.id,
        rule_set_version: row.rule_set_version,
        pool: row.pool_account,
        currency: row.currency,
        transaction: row.transaction_id,
        created_by: row.created_by,
    })
}

/// Draft a distribution run: a dry run that computes every line and posts
/// nothing (owners and treasurers).
#[utoipa::path(
    tag = "distributions",
    operation_id = "create_distribution",
    request_body = CreateDistributionRequest,
    params(
        ("project_id" = String, Path, format = Uuid, description = "Project id"),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255, pattern = "^[!-~]+$", description = "Makes the request safe to retry"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The draft, with every line explained", body = Distribution),
        (status = 400, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: owners and treasurers only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`project_not_found`, `rule_set_not_found`, `grant_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`changed_during_computation` (the pool or the contributions kept changing while the draft was computed; retry), or idempotent request in flight", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`insufficient_funds` (more than the pool holds), `unknown_account`, `amount_precision`, `invalid_date`, `arithmetic_overflow` (a share, the step's amount x a contributor's weighted value, past 128-bit arithmetic; nothing is stored), ...", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project_id}/distributions")]
pub async fn create_distribution(
    state: web::Data<AppState>,
    Authenticated(credentials): Authenticated,
    path: web::Path<String>,
    body: JsonBody<CreateDistributionRequest>,
    key: IdempotencyKey,
) -> Result<HttpResponse, ApiError> {
    let project_id = path.into_inner();
    let request = body.value;
    let mut errors = Vec::new();
    let from = parse_date("period_from", &request.period_from)
        .map_err(|e| errors.push(e))
        .ok();
    let to = parse_date("period_to", &request.period_to)
        .map_err(|e| errors.push(e))
        .ok();
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        errors.push(FieldError::new(
            "period_to",
            "invalid_date",
            "the period ends before it starts",
        ));
    }
    // What names the rule set and the pool is checked before they are
    // looked up (a version below 1 or an overlong id is no lookup's 404).
    let mut names = Vec::new();
    if request.rule_set_version < 1 {
        names.push(FieldError::new(
            "rule_set_version",
            "invalid_rule_set",
            "rule set versions count from 1",
        ));
    }
    if let Some(grant) = &request.grant {
        limits::check_length("grant", grant, limits::ID_LENGTH_MAX, &mut names);
    }
    if let Some(pool) = &request.pool {
        limits::check_length("pool", pool, ACCOUNT_NAME_LENGTH_MAX, &mut names);
    }
    // The draft reads and sums every approved contribution of the period:
    // it is computed in a read snapshot, outside the writer, and written in
    // a short transaction that checks the pool and the decisions it read.
    let committer = credentials.clone();
    let committed_project = project_id.clone();
    let rule_set_version = request.rule_set_version;
    write::run_computed(
        &state,
        Some(project_id.clone()),
        Idempotency::chosen(
            access::idempotency_scope(&credentials),
            key.0,
            body.fingerprint,
        ),
        move |conn| {
            let (_, project) =
                access::project_for(conn, &credentials, &project_id, Action::WriteLedger)?;
            let mut errors = errors.clone();
            if !names.is_empty() {
                errors.extend(names.iter().cloned());
                return Err(ApiError::Validation(errors));
            }
            let rules = super::rule_sets::load(conn, &project.id, request.rule_set_version)?
                .ok_or(ApiError::NotFound("rule set"))?;
            let pool_name = match (&request.grant, &request.pool) {
                (Some(grant), _) => {
                    db::funds::grant(conn, &project.id, grant)?
                        .ok_or(ApiError::NotFound("grant"))?
                        .pool_account
                }
                (None, Some(pool)) => pool.clone(),
                (None, None) => funds::general_pool(&project, &project.currency)?.to_string(),
            };
            let pool = db::accounts::find(conn, &project.id, &pool_name)?
                .ok_or_else(|| TransactionError::UnknownAccount(pool_name.clone()))?;
            let units = super::stored_units(conn)?;
            let unit = units
                .get(&pool.currency)
                .cloned()
                .ok_or_else(|| ApiError::Internal("pool unit missing".to_owned()))?;
            let whole_pool = request.amount == "all";
            let amount = if whole_pool {
                Amount::from_minor(pool.balance).ok_or_else(|| {
                    ApiError::field("amount", "amount_not_positive", "the pool is empty")
                })
            } else {
                Amount::parse(&request.amount, &unit)
                    .map_err(|e| ApiError::field("amount", e.code(), &e))
            };
            let amount = match amount {
                Ok(amount) => Some(amount),
                Err(ApiError::Validation(mut field_errors)) => {
                    errors.append(&mut field_errors);
                    None
                }
                Err(other) => return Err(other),
            };
            let (Some(amount), Some(from), Some(to), true) = (amount, from, to, errors.is_empty())
            else {
                return Err(ApiError::Validation(errors));
            };
            insufficient(&pool, &unit, amount.minor())?;
            // Of the same snapshot as the contributions: a decision made
            // since changes it, and the write finds the draft out of date.
            let revision = db::projects::revision(conn, &project.id)?;
            let replaced: HashSet<String> = db::contributions::replaced(conn, &project.id)?
                .into_iter()
                .collect();
            let mut bases: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
            for row in db::contributions::approved_between(conn, &project.id, from, to)? {
                if replaced.contains(&row.id)
                    || row.currency.as_deref() != Some(pool.currency.as_str())
                {
                    continue;
                }
                let Some(value) = row.value else { continue };
                let sum = bases
                    .entry(row.agent_id.clone())
                    .or_default()
                    .entry(row.kind.clone())
                    .or_insert(0);
                *sum = sum
                    .checked_add(value)
                    .ok_or(Overflow("a contributor's approved value of one kind"))?;
            }
            let basis_list: Vec<Basis> = bases
                .iter()
                .map(|(agent, kinds)| Basis {
                    agent: agent.clone(),
                    value_by_kind: kinds.clone(),
                })
                .collect();
            let plan = apportion(&rules, amount.minor(), unit.scale(), &basis_list)?;
            let inputs = Inputs {
                rules_residue: rules.residue.clone(),
                bases,
                contributions_revision: Some(revision),
                contribution_ids: Vec::new(),
            };
            Ok(Draft {
                pool: pool.name,
                pool_balance: pool.balance,
                whole_pool,
                unit,
                amount: amount.minor(),
                from,
                to,
                revision,
                inputs: serde_json::to_string(&inputs)
                    .map_err(|e| ApiError::Internal(e.to_string()))?,
                residue: plan.residue,
                plan: serde_json::to_string(&plan)
                    .map_err(|e| ApiError::Internal(e.to_string()))?,
            })
        },
        move |conn, draft: &Draft| {
            let (caller, project) =
                access::project_for(conn, &committer, &committed_project, Action::WriteLedger)?;
            db::projects::lock(conn, &project.id)?;
            if db::projects::revision(conn, &project.id)? != draft.revision {
                return Err(ApiError::ChangedDuringComputation(
                    "the project's contributions, rates or members",
                ));
            }
            let pool = db::accounts::find(conn, &project.id, &draft.pool)?
                .ok_or_else(|| TransactionError::UnknownAccount(draft.pool.clone()))?;
            if draft.whole_pool && pool.balance != draft.pool_balance {
                return Err(ApiError::ChangedDuringComputation("the pool's balance"));
            }
            insufficient(&pool, &draft.unit, draft.amount)?;
            let row = DistributionRow {
                id: uuid::Uuid::now_v7().to_string(),
                project_id: project.id.clone(),
                rule_set_version,
                pool_account: pool.name.clone(),
                currency: pool.currency.clone(),
                amount: draft.amount,
                period_from: draft.from,
                period_to: draft.to,
                status: "draft".to_owned(),
                inputs: draft.inputs.clone(),
                plan: draft.plan.clone(),
                residue: draft.residue,
                created_by: caller.agent().map(|a| a.id.clone()).unwrap_or_default(),
                created_at: db::now(),
                transaction_id: None,
                decided_at: None,
            };
            db::distributions::insert(conn, &row)?;
            Reply::created(&to_distribution(conn, &project, row)?)
        },
    )
    .await
}

/// A draft computed outside the writer, with what its write re-checks.
struct Draft {
    pool: String,
    pool_balance: i64,
    /// Whether the amount was `all`: then it is the balance read.
    whole_pool: bool,
    unit: Unit,
    amount: i64,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    /// The project's revision the contributions were read at.
    revision: i64,
    inputs: String,
    plan: String,
    residue: i64,
}

/// No promises without funds: a draft cannot exceed the pool either.
fn insufficient(pool: &db::accounts::AccountRow, unit: &Unit, amount: i64) -> Result<(), ApiError> {
    if amount > pool.balance {
        return Err(TransactionError::InsufficientFunds {
            index: 0,
            account: pool.name.clone(),
            unit: pool.currency.clone(),
            scale: unit.scale(),
            balance: pool.balance,
            amount,
        }
        .into());
    }
    Ok(())
}

/// List distribution runs, oldest first.
#[utoipa::path(
    tag = "distributions",
    operation_id = "list_distributions",
    params(("project_id" = String, Path, format = Uuid, description = "Project id"), PageQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of runs", body = DistributionPage),
        (status = 400, description = "`invalid_query` (`limit`) or `invalid_cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`project_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project_id}/distributions")]
pub async fn list_distributions(
    state: web::Data<AppState>,
    credentials: Credentials,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<DistributionPage>, ApiError> {
    let project_id = path.into_inner();
    let limit = page_size(query.limit)?;
    let after = decode_cursor(query.cursor.as_deref(), CursorKey::Id)?;
    let items = read(&state, move |conn| {
        let (_, project) =
            access::project_for(conn, &credentials, &project_id, Action::ReadLedger)?;
        let rows = db::distributions::list(conn, &project.id, after.as_deref(), limit)?;
        rows.into_iter()
            .map(|row| to_distribution(conn, &project, row))
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    let next_cursor = next_cursor(&items, limit, |item| item.id.clone());
    Ok(web::Json(DistributionPage { items, next_cursor }))
}

/// Get one run with its lines and approvals.
#[utoipa::path(
    tag = "distributions",
    operation_id = "get_distribution",
    params(
        ("project_id" = String, Path, format = Uuid, description = "Project id"),
        ("distribution_id" = String, Path, format = Uuid, description = "Run id"),
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The run", body = Distribution),
        (status = 401, description = "Invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`project_not_found` or `distribution_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project_id}/distributions/{distribution_id}")]
pub async fn get_distribution(
    state: web::Data<AppState>,
    credentials: Credentials,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Distribution>, ApiError> {
    let (project_id, id) = path.into_inner();
    let item = read(&state, move |conn| {
        let (_, project) =
            access::project_for(conn, &credentials, &project_id, Action::ReadLedger)?;
        let row = db::distributions::find(conn, &project.id, &id)?
            .ok_or(ApiError::NotFound("distribution"))?;
        to_distribution(conn, &project, row)
    })
    .await?;
    Ok(web::Json(item))
}

/// The run as it stands after a state change, as a 201 reply.
fn reply_with_run(
    conn: &mut DbConnection,
    project: &ProjectRow,
    id: &str,
) -> Result<Reply, ApiError> {
    let row = db::distributions::find(conn, &project.id, id)?
        .ok_or(ApiError::NotFound("distribution"))?;
    Reply::created(&to_distribution(conn, project, row)?)
}

/// Loads a run under its lock, for a state change.
fn locked_run(
    conn: &mut DbConnection,
    credentials: &Credentials,
    project_id: &str,
    id: &str,
    action: Action,
) -> Result<(Caller, ProjectRow, DistributionRow), ApiError> {
    let (caller, project) = access::project_for(conn, credentials, project_id, action)?;
    db::distributions::lock(conn, id)?;
    let row = db::distributions::find(conn, &project.id, id)?
        .ok_or(ApiError::NotFound("distribution"))?;
    Ok((caller, project, row))
}

/// Approve a draft run (owners and treasurers, each once; with two or more
/// approvals required, not its author).
#[utoipa::path(
    tag = "distributions",
    operation_id = "create_approval",
    params(
        ("project_id" = String, Path, format = Uuid, description = "Project id"),
        ("distribution_id" = String, Path, format = Uuid, description = "Run id"),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255, pattern = "^[!-~]+$", description = "Makes the request safe to retry"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 400, description = "`invalid_idempotency_key`", body = Problem, content_type = "application/problem+json"),
        (status = 201, description = "The run after the approval", body = Distribution),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` or `self_approval`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`project_not_found` or `distribution_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_approved`, `distribution_state`, or idempotent request in flight", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project_id}/distributions/{distribution_id}/approvals")]
pub async fn create_approval(
    state: web::Data<AppState>,
    Authenticated(credentials): Authenticated,
    path: web::Path<(String, String)>,
    body: JsonBody<serde_json::Map<String, serde_json::Value>>,
    key: IdempotencyKey,
) -> Result<HttpResponse, ApiError> {
    let (project_id, id) = path.into_inner();
    write::run(
        &state,
        Some(project_id.clone()),
        access::idempotency_scope(&credentials),
        key.0,
        body.fingerprint,
        move |conn| {
            let (caller, project, row) =
                locked_run(conn, &credentials, &project_id, &id, Action::Review)?;
            let approver = caller.agent().map(|a| a.id.clone()).unwrap_or_default();
            let status = RunStatus::parse(&row.status)?;
            let required = project.distribution_approvals_required;
            // The state first: approving a run that is not a draft is that.
            status.approve(0, required)?;
            let approvers = db::distributions::approvers(conn, &row.id)?;
            let names: Vec<&str> = approvers.iter().map(|(a, _)| a.as_str()).collect();
            check_approver(&row.created_by, &approver, &names, required)?;
            db::distributions::insert_approval(conn, &row.id, &approver)?;
            let after = status.approve(approvers.len() + 1, required)?;
            if after != status {
                db::distributions::set_status(conn, &row.id, after.as_str(), None)?;
            }
            reply_with_run(conn, &project, &row.id)
        },
    )
    .await
}

/// Execute an approved run: re-checks the pool and posts one atomic ledger
/// transaction paying every line (owners and treasurers).
#[utoipa::path(
    tag = "distributions",
    operation_id = "create_execution",
    params(
        ("project_id" = String, Path, format = Uuid, description = "Project id"),
        ("distribution_id" = String, Path, format = Uuid, description = "Run id"),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255, pattern = "^[!-~]+$", description = "Makes the request safe to retry"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 400, description = "`invalid_idempotency_key`", body = Problem, content_type = "application/problem+json"),
        (status = 201, description = "The executed run", body = Distribution),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`project_not_found` or `distribution_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`distribution_state` (not approved), or idempotent request in flight", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`insufficient_funds`: the pool no longer holds the amount", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project_id}/distributions/{distribution_id}/execution")]
pub async fn create_execution(
    state: web::Data<AppState>,
    Authenticated(credentials): Authenticated,
    path: web::Path<(String, String)>,
    body: JsonBody<serde_json::Map<String, serde_json::Value>>,
    key: IdempotencyKey,
) -> Result<HttpResponse, ApiError> {
    let (project_id, id) = path.into_inner();
    write::run(&state, Some(project_id.clone()), access::idempotency_scope(&credentials), key.0, body.fingerprint, move |conn| {
        let (_, project, row) = locked_run(conn, &credentials, &project_id, &id, Action::WriteLedger)?;
        let executed = RunStatus::parse(&row.status)?.execute()?;
        let plan: Plan = serde_json::from_str(&row.plan).map_err(|e| ApiError::Internal(e.to_string()))?;
        let inputs: Inputs = serde_json::from_str(&row.inputs).map_err(|e| ApiError::Internal(e.to_string()))?;
        let pool = AccountName::parse(&row.pool_account).map_err(|e| ApiError::Internal(e.to_string()))?;
        let payees = payees(&plan, &inputs.rules_residue, |agent| {
            managed::contributor(agent).map_err(|e| PayeesError::AccountName(e.to_string()))
        })?;
        let mut legs = Vec::with_capacity(payees.len());
        for payee in payees {
            if payee.contributor {
                funds::ensure(conn, &project, &payee.account, &row.currency, true)?;
            }
            if let Some(amount) = Amount::from_minor(payee.amount) {
                legs.push(Leg { from: pool.clone(), to: payee.account, amount, currency: row.currency.clone() });
            }
        }
        let record = funds::post(
            conn,
            &project,
            TransactionKind::Distribution,
            row.period_to,
            format!("distribution run {} (rule set v{})", row.id, row.rule_set_version),
            serde_json::json!({"distribution": row.id, "rule_set_version": row.rule_set_version}),
            legs,
        )?;
        db::distributions::set_status(conn, &row.id, executed.as_str(), Some(&record.row.id))?;
        reply_with_run(conn, &project, &row.id)
    })
    .await
}

/// Cancel a draft or approved run; an executed one is corrected only by
/// reversing its transaction.
#[utoipa::path(
    tag = "distributions",
    operation_id = "create_cancellation",
    params(
        ("project_id" = String, Path, format = Uuid, description = "Project id"),
        ("distribution_id" = String, Path, format = Uuid, description = "Run id"),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255, pattern = "^[!-~]+$", description = "Makes the request safe to retry"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 400, description = "`invalid_idempotency_key`", body = Problem, content_type = "application/problem+json"),
        (status = 201, description = "The cancelled run", body = Distribution),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`project_not_found` or `distribution_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`distribution_state` (executed or cancelled), or idempotent request in flight", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project_id}/distributions/{distribution_id}/cancellation")]
pub async fn create_cancellation(
    state: web::Data<AppState>,
    Authenticated(credentials): Authenticated,
    path: web::Path<(String, String)>,
    body: JsonBody<serde_json::Map<String, serde_json::Value>>,
    key: IdempotencyKey,
) -> Result<HttpResponse, ApiError> {
    let (project_id, id) = path.into_inner();
    write::run(
        &state,
        Some(project_id.clone()),
        access::idempotency_scope(&credentials),
        key.0,
        body.fingerprint,
        move |conn| {
            let (_, project, row) =
                locked_run(conn, &credentials, &project_id, &id, Action::WriteLedger)?;
            let cancelled = RunStatus::parse(&row.status)?.cancel()?;
            db::distributions::set_status(conn, &row.id, cancelled.as_str(), None)?;
            reply_with_run(conn, &project, &row.id)
        },
    )
    .await
}
