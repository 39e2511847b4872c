//! `/v1/projects/{project_id}/distributions`: distribution runs. A POST is a
//! dry run (draft) that shows every line and why; distinct owners or
//! treasurers approve it; execution re-checks the pool and posts one atomic
//! ledger transaction. A run never distributes more than the pool holds.

use actix_web::{HttpResponse, get, post, web};
use commons_ledger_macros::operation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::access;
use super::call::{ItemWrite, ProjectCall, ProjectPage, ProjectWrite, WriteCall, audited};
use super::codes::{FieldCode, Resource};
use super::dto::PageQuery;
use super::dto::page_type;
use super::extract::{CursorKey, date_field, optional_date};
use super::limits;
use super::openapi::{DistributionNotFound, OwnersAndTreasurers};
use super::problem::{ApiError, FieldError, Problem};
use super::write::{self, Idempotency, Reply};
use crate::db::distributions::Run;
use crate::db::projects::Project;
use crate::db::{self, DbConnection};
use crate::domain::access::Action;
use crate::domain::account::ACCOUNT_NAME_LENGTH_MAX;
use crate::domain::distribution::{
    ExplainedLine, ExplainedTransfer, RunStatus, residue_destination,
};
use crate::http::reply::in_project;
use crate::ops::distributions::{DraftRequest, RunView, Share, Source};
use crate::ops::{self, FieldProblem};

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
#[schema(example = json!({"rule_set_version": 1, "amount": "4500.00", "period_from": "2026-03-01", "period_to": "2026-03-31", "grant": "2b6f8c1d-9e0a-4f3b-8c7d-1e2f3a4b5c6d"}))]
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

page_type!(DistributionPage, Distribution);

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

/// A run as the API shows it.
pub fn to_distribution(project: &Project, view: RunView) -> Distribution {
    let RunView {
        run,
        unit,
        transfers,
        lines,
        approvals,
    } = view;
    Distribution {
        status: run.status.into(),
        amount: unit.format_minor(run.amount),
        residue: unit.format_minor(run.residue),
        residue_destination: residue_destination(&run.inputs.rules_residue),
        period_from: run.period_from.to_string(),
        period_to: run.period_to.to_string(),
        approvals: approvals
            .into_iter()
            .map(|(approver, at)| Approval {
                approver,
                created_at: db::format_timestamp(at),
            })
            .collect(),
        approvals_required: project.distribution_approvals_required,
        created_at: db::format_timestamp(run.created_at),
        transfers: transfers.into_iter().map(AccountTransfer::from).collect(),
        lines: lines.into_iter().map(DistributionLine::from).collect(),
        id: run.id,
        rule_set_version: run.rule_set_version,
        pool: run.pool_account,
        currency: run.currency,
        transaction: run.transaction_id,
        created_by: run.created_by,
    }
}

impl From<ExplainedTransfer> for AccountTransfer {
    fn from(transfer: ExplainedTransfer) -> Self {
        AccountTransfer {
            step: transfer.step,
            account: transfer.account,
            amount: transfer.amount,
        }
    }
}

impl From<ExplainedLine> for DistributionLine {
    fn from(line: ExplainedLine) -> Self {
        DistributionLine {
            step: line.step,
            agent: line.agent,
            basis: line.basis,
            share_percent: line.share_percent,
            amount: line.amount,
            rounding_adjustment: line.rounding_adjustment,
            capped_by: line.capped_by,
            dropped: line.dropped,
            explanation: line.explanation,
        }
    }
}

/// The project's run `id` as the API shows it.
pub fn find_distribution(
    conn: &mut DbConnection,
    project: &Project,
    id: &str,
) -> Result<Distribution, ApiError> {
    let run = db::distributions::run(conn, &project.id, id)?
        .ok_or(ApiError::NotFound(Resource::Distribution))?;
    Ok(to_distribution(
        project,
        ops::distributions::view(conn, run)?,
    ))
}

/// The run `run` as a 201 reply.
fn reply_with(conn: &mut DbConnection, project: &Project, run: Run) -> Result<Reply, ApiError> {
    let distribution = to_distribution(project, ops::distributions::view(conn, run)?);
    let location = in_project(
        &project.id,
        format_args!("distributions/{}", distribution.id),
    );
    Reply::created(location, &distribution)
}

/// The draft a request asks for, and the problems with what names the
/// rule set and the pool, which are reported before they are looked up (a
/// version below 1 or an overlong id is no lookup's 404).
fn parse_draft(request: &CreateDistributionRequest) -> (DraftRequest, Vec<FieldError>) {
    let mut problems = Vec::new();
    let from = date_field("period_from", &request.period_from, &mut problems);
    let to = date_field("period_to", &request.period_to, &mut problems);
    let period = from.zip(to).filter(|(from, to)| from <= to);
    if from.is_some() && to.is_some() && period.is_none() {
        problems.push(FieldError::new(
            "period_to",
            FieldCode::InvalidDate,
            "the period ends before it starts",
        ));
    }
    let mut names = Vec::new();
    if request.rule_set_version < 1 {
        names.push(FieldError::new(
            "rule_set_version",
            FieldCode::InvalidRuleSet,
            "rule set versions count from 1",
        ));
    }
    if let Some(grant) = &request.grant {
        limits::check_length("grant", grant, limits::ID_LENGTH_MAX, &mut names);
    }
    if let Some(pool) = &request.pool {
        limits::check_length("pool", pool, ACCOUNT_NAME_LENGTH_MAX, &mut names);
    }
    let draft = DraftRequest {
        source: match (&request.grant, &request.pool) {
            (Some(grant), _) => Source::Grant(grant.clone()),
            (None, Some(pool)) => Source::Pool(pool.clone()),
            (None, None) => Source::General,
        },
        share: match request.amount.as_str() {
            "all" => Share::All,
            amount => Share::Amount(amount.to_owned()),
        },
        period,
        problems: problems
            .iter()
            .map(|p| FieldProblem::new(p.field.clone(), p.code.as_str(), &p.message))
            .collect(),
    };
    if !names.is_empty() {
        names.splice(0..0, problems);
    }
    (draft, names)
}

/// Draft a distribution run
///
/// Computes a dry run (owners and treasurers): every line of the rule set's
/// waterfall with its explanation, the residue left in the pool, and nothing
/// posted. The amount must be available in the pool; the run then needs its
/// approvals before it can be executed.
#[operation(post "/projects/{project_id}/distributions", tag = "distributions",
    request_body = CreateDistributionRequest, signed_in,
    responses(
        201 Distribution "The draft, with every line explained",
        OwnersAndTreasurers,
        404 "`project_not_found`, `rule_set_not_found`, `grant_not_found`",
        409 "`changed_during_computation` (the pool or the contributions kept changing while the draft was computed; retry), or idempotent request in flight",
        422 "`insufficient_funds` (more than the pool holds), `unknown_account`, `amount_precision`, `invalid_date`, `arithmetic_overflow` (a share, the step's amount x a contributor's weighted value, past 128-bit arithmetic; nothing is stored), ...",
    ))]
pub async fn create_distribution(
    ProjectWrite { body, call }: ProjectWrite<CreateDistributionRequest>,
) -> Result<HttpResponse, ApiError> {
    let version = body.rule_set_version;
    let (draft, names) = parse_draft(&body);
    let scope = access::idempotency_scope(&call.credentials);
    let idempotency = Idempotency::chosen(scope, call.key, call.fingerprint);
    let (credentials, project_id, audit) = (call.credentials, call.project_id, call.audit);
    let (committer, committed_project) = (credentials.clone(), project_id.clone());
    let hooks = call.state.settings.test_hooks.clone();
    // Computed in a read snapshot, outside the writer; recorded in a short
    // write that checks the pool and the decisions it read.
    write::run_computed(
        &call.state,
        Some(project_id.clone()),
        idempotency,
        move |conn| {
            let (_, project) =
                access::project_for(conn, &credentials, &project_id, Action::WriteLedger)?;
            if !names.is_empty() {
                return Err(ApiError::Validation(names.clone()));
            }
            Ok(ops::distributions::compute_draft(
                conn, &project, version, &draft,
            )?)
        },
        move |conn, draft| {
            // The selection first, then the project's lock (PostgreSQL).
            let staged = ops::distributions::stage_draft(conn, &committed_project, draft)?;
            if let Some(hooks) = &hooks {
                hooks.staged();
            }
            let who = (&committer, committed_project.as_str());
            audited(
                conn,
                &audit,
                who,
                |_| Action::WriteLedger,
                |conn, caller, project| {
                    let author = caller.signed_in()?.id.clone();
                    let recorded = (draft, &staged);
                    let run = ops::distributions::record_draft(
                        conn, project, &author, version, recorded,
                    )?;
                    reply_with(conn, project, run)
                },
            )
        },
    )
    .await
}

/// List distribution runs
///
/// Distribution runs oldest first, with their status (draft, approved,
/// executed, cancelled).
#[operation(get "/projects/{project_id}/distributions", tag = "distributions", public,
    params(PageQuery), responses(200 DistributionPage "A page of runs"))]
pub async fn list_distributions(
    page: ProjectPage,
) -> Result<web::Json<DistributionPage>, ApiError> {
    let fetch = |conn: &mut DbConnection, project: &Project, after: Option<&str>, limit| {
        let runs = db::distributions::runs(conn, &project.id, after, limit)?;
        runs.into_iter()
            .map(|run| {
                let view = ops::distributions::view(conn, run)?;
                Ok(to_distribution(project, view))
            })
            .collect::<Result<Vec<_>, ApiError>>()
    };
    let page = page
        .read(Action::ReadLedger, CursorKey::Id, fetch, |d| d.id.clone())
        .await?;
    Ok(web::Json(page.into()))
}

/// Get a distribution run
///
/// One run with its lines, their explanations, its approvals and, once
/// executed, its transaction.
#[operation(get "/projects/{project_id}/distributions/{distribution_id}", tag = "distributions",
    public, params(id "distribution_id" "Run id"),
    responses(200 Distribution "The run", DistributionNotFound))]
pub async fn get_distribution(
    call: ProjectCall,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Distribution>, ApiError> {
    call.read_item(path, |conn, project, id: String| {
        find_distribution(conn, project, &id)
    })
    .await
}

/// Approve a distribution run
///
/// Approves a draft run (owners and treasurers, each once; with two or more
/// approvals required, not its author). The run becomes approved when the
/// project's number of approvals is reached.
#[operation(post "/projects/{project_id}/distributions/{distribution_id}/approvals",
    tag = "distributions", signed_in, params(id "distribution_id" "Run id"),
    responses(
        201 Distribution "The run after the approval",
        403 "`forbidden` or `self_approval`",
        DistributionNotFound,
        409 "`already_approved`, `distribution_state`, or idempotent request in flight",
    ))]
pub async fn create_approval(
    ItemWrite { call, id, .. }: ItemWrite<NoBody>,
) -> Result<HttpResponse, ApiError> {
    let change: RunChange =
        |conn, project, approver, id| ops::distributions::approve(conn, project, approver, id);
    change_run(call, id, Action::Review, change).await
}

/// Execute a distribution run
///
/// Executes an approved run (owners and treasurers): re-checks the pool and
/// posts one atomic ledger transaction paying every line, dated today unless
/// `effective_date` says otherwise.
#[operation(post "/projects/{project_id}/distributions/{distribution_id}/execution",
    tag = "distributions",
    request_body(content = Option<ExecutionRequest>, description = "Optional: the transaction's date"),
    signed_in, params(id "distribution_id" "Run id"),
    responses(
        201 Distribution "The executed run",
        403 "`forbidden`",
        DistributionNotFound,
        409 "`distribution_state` (not approved), or idempotent request in flight",
        422 "`insufficient_funds`: the pool no longer holds the amount",
    ))]
pub async fn create_execution(
    ItemWrite { body, call, id }: ItemWrite<ExecutionRequest>,
) -> Result<HttpResponse, ApiError> {
    let date = optional_date("effective_date", body.effective_date.as_deref())?;
    call.run(Action::WriteLedger, move |conn, caller, project| {
        let date = date.unwrap_or_else(db::today);
        let run = ops::distributions::execute(conn, (project, &caller.signed_in()?.id), &id, date)?;
        reply_with(conn, project, run)
    })
    .await
}

/// An execution's date, if not today.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"effective_date": "2026-04-02"}))]
pub struct ExecutionRequest {
    /// The date of the distribution's transaction (default: today, the
    /// day of the execution); never in a closed period. The run keeps its
    /// contribution period (`period_from` to `period_to`) whatever its date.
    #[schema(example = "2026-04-02", format = Date, max_length = 10)]
    pub effective_date: Option<String>,
}

/// Cancel a distribution run
///
/// Cancels a draft or approved run and frees what it reserved; an executed run
/// is corrected only by reversing its transaction.
#[operation(post "/projects/{project_id}/distributions/{distribution_id}/cancellation",
    tag = "distributions", signed_in, params(id "distribution_id" "Run id"),
    responses(
        201 Distribution "The cancelled run",
        403 "`forbidden`",
        DistributionNotFound,
        409 "`distribution_state` (executed or cancelled), or idempotent request in flight",
    ))]
pub async fn create_cancellation(
    ItemWrite { call, id, .. }: ItemWrite<NoBody>,
) -> Result<HttpResponse, ApiError> {
    let change: RunChange = |conn, project, _, id| ops::distributions::cancel(conn, project, id);
    change_run(call, id, Action::WriteLedger, change).await
}

/// A change of a run's state, made by the caller (their agent id) on the run.
type RunChange = fn(&mut DbConnection, &Project, &str, &str) -> Result<Run, ops::Error>;

/// The body of a run's state change: any JSON object, ignored.
type NoBody = serde_json::Map<String, serde_json::Value>;

/// Makes `change` on the path's run through the write pipeline, if the
/// caller may take `action` in the project, and answers with the run after it.
async fn change_run(
    call: WriteCall,
    id: String,
    action: Action,
    change: RunChange,
) -> Result<HttpResponse, ApiError> {
    call.run(action, move |conn, caller, project| {
        let by = caller.signed_in()?.id.clone();
        let run = change(conn, project, &by, &id)?;
        reply_with(conn, project, run)
    })
    .await
}
