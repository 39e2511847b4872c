//! `/v1/projects/{project_id}/grants`: grants and donations received. Each
//! posts a ledger transaction from the funder's account into the general
//! pool, or, when restricted, into a pool of its own; its figures (received,
//! spent, distributed, remaining) are read back from the ledger.

use std::collections::HashMap;

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::access;
use super::expenses::CATEGORIES_PER_PROJECT_MAX;
use super::extract::{
    CursorKey, IdempotencyKey, JsonBody, decode_cursor, next_cursor, page_size, parse_date,
};
use super::funds::{self, Leg};
use super::limits;
use super::problem::{ApiError, FieldError, Problem};
use super::projects::PageQuery;
use super::write::{self, Reply};
use super::{AppState, read};
use crate::auth::{Authenticated, Credentials};
use crate::db::funds::GrantRow;
use crate::db::{self, DbConnection};
use crate::domain::access::Action;
use crate::domain::funds::{GrantFigures, Pool, PoolMovement, grant_figures};
use crate::domain::managed;
use crate::domain::{TransactionKind, Unit};

/// Longest grant reference, in characters.
pub const GRANT_REFERENCE_LENGTH_MAX: usize = 100;
/// Longest restriction or description, in characters.
pub const GRANT_TEXT_LENGTH_MAX: usize = 1_000;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_grant)
        .service(list_grants)
        .service(get_grant);
}

/// A grant may carry conditions; a donation does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantKind {
    Grant,
    Donation,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGrantRequest {
    /// The funder (an agent, usually an organisation).
    #[schema(format = Uuid, max_length = 36)]
    pub funder: String,
    pub kind: GrantKind,
    /// The funder's reference, unique in the project.
    #[schema(example = "FH-2026-017", max_length = 100)]
    pub reference: String,
    /// Positive decimal string with at most the currency's decimals, at most
    /// 10^15 minor units (10,000,000,000,000.00 EUR; 10^15 JPY) and 40 characters.
    #[schema(
        example = "10000.00",
        pattern = r"^[0-9]+(\.[0-9]+)?$",
        max_length = 40
    )]
    pub amount: String,
    #[schema(example = "EUR", max_length = 8)]
    pub currency: String,
    #[schema(example = "2026-02-01", format = Date, max_length = 10)]
    pub received_on: String,
    #[schema(format = Date, max_length = 10)]
    pub period_start: Option<String>,
    #[schema(format = Date, max_length = 10)]
    pub period_end: Option<String>,
    /// The earmark; restricted money is kept in a pool of its own.
    #[schema(example = "air-quality sensor programme", max_length = 1000)]
    pub restriction: Option<String>,
    /// Expense categories the restricted money may pay for (default: any):
    /// at most 200 (a project's most), each named once (a repeated name
    /// is kept once).
    #[serde(default)]
    #[schema(max_items = 200, value_type = Vec<CategoryName>)]
    pub eligible_categories: Vec<String>,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub description: String,
}

/// An expense category's name: letters, digits, '.', '_' and '-', at most
/// 100 characters.
#[derive(ToSchema)]
#[schema(value_type = String, max_length = 100, example = "parts")]
pub struct CategoryName(#[allow(dead_code)] String);

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Grant {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub funder: String,
    pub kind: GrantKind,
    pub reference: String,
    pub amount: String,
    pub currency: String,
    #[schema(format = Date)]
    pub received_on: String,
    #[schema(format = Date)]
    pub period_start: Option<String>,
    #[schema(format = Date)]
    pub period_end: Option<String>,
    pub restriction: Option<String>,
    pub eligible_categories: Vec<String>,
    /// The pool account the money went into.
    pub pool: String,
    /// Whether the pool is shared with other money (the general pool): the
    /// spent, distributed and remaining figures are then the pool's.
    pub pool_shared: bool,
    /// The ledger transaction that recorded it.
    #[schema(format = Uuid)]
    pub transaction: String,
    /// The reversal that undid it, if it was recorded by mistake.
    #[schema(format = Uuid)]
    pub reversed_by: Option<String>,
    /// Received, net of reversal, from the ledger.
    pub received: String,
    /// Paid out of the pool as expenses, net of reversals.
    pub spent: String,
    /// Distributed out of the pool, net of reversals.
    pub distributed: String,
    /// The pool's balance now.
    pub remaining: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GrantPage {
    pub items: Vec<Grant>,
    pub next_cursor: Option<String>,
}

/// The grant's figures, computed from the ledger's postings on its pool.
fn to_grant(
    conn: &mut DbConnection,
    units: &HashMap<String, Unit>,
    row: GrantRow,
) -> Result<Grant, ApiError> {
    let pool = db::accounts::find(conn, &row.project_id, &row.pool_account)?
        .ok_or_else(|| ApiError::Internal("grant pool missing".to_owned()))?;
    let movements = db::funds::movements(conn, &pool.id)?;
    let reversed: Vec<String> = movements
        .iter()
        .filter_map(|m| m.reverses.clone())
        .collect();
    let original_kinds: HashMap<String, String> = db::funds::reversed_kinds(conn, &reversed)?
        .into_iter()
        .collect();
    let grant_tx = db::transactions::find(conn, &row.project_id, &row.transaction_id)?
        .ok_or_else(|| ApiError::Internal("grant transaction missing".to_owned()))?;
    let pool_shared = row.restriction.is_none();
    let mut pool_movements = Vec::with_capacity(movements.len());
    for movement in &movements {
        let kind = match &movement.reverses {
            Some(original) => original_kinds.get(original).map_or("", String::as_str),
            None => movement.kind.as_str(),
        };
        // A reversal whose original is not found counts as none of the three.
        if let Some(kind) = TransactionKind::parse(kind) {
            pool_movements.push(PoolMovement {
                kind,
                amount: movement.amount,
                into: movement.into,
            });
        }
    }
    let share = if pool_shared {
        Pool::Shared {
            amount: row.amount,
            reversed: grant_tx.reversed_by.is_some(),
        }
    } else {
        Pool::Own
    };
    let GrantFigures {
        received,
        spent,
        distributed,
    } = grant_figures(pool_movements, share);
    let money = |minor: i128| {
        let scale = units.get(&row.currency).map_or(0, Unit::scale);
        crate::domain::money::format_minor_wide(minor, scale)
    };
    Ok(Grant {
        amount: super::format_minor(units, &row.currency, row.amount),
        received: money(received),
        spent: money(spent),
        distributed: money(distributed),
        remaining: money(i128::from(pool.balance)),
        kind: if row.kind == "donation" {
            GrantKind::Donation
        } else {
            GrantKind::Grant
        },
        received_on: row.received_on.to_string(),
        period_start: row.period_start.map(|d| d.to_string()),
        period_end: row.period_end.map(|d| d.to_string()),
        eligible_categories: row
            .eligible_categories
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        pool_shared,
        reversed_by: grant_tx.reversed_by,
        id: row.id,
        funder: row.funder_id,
        reference: row.reference,
        currency: row.currency,
        restriction: row.restriction,
        pool: row.pool_account,
        transaction: row.transaction_id,
    })
}

/// Record a grant or donation received (owners and treasurers).
#[utoipa::path(
    tag = "funds",
    operation_id = "create_grant",
    request_body = CreateGrantRequest,
    params(
        ("project_id" = String, Path, format = Uuid, description = "Project id"),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255, pattern = "^[!-~]+$", description = "Makes the request safe to retry"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The grant, with its figures", body = Grant),
        (status = 400, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: owners and treasurers only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`project_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`duplicate_reference`, or idempotent request in flight", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`amount_precision`, `unknown_currency`, `unknown_agent`, `invalid_date`, `currency_mismatch`, ...", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project_id}/grants")]
pub async fn create_grant(
    state: web::Data<AppState>,
    Authenticated(credentials): Authenticated,
    path: web::Path<String>,
    body: JsonBody<CreateGrantRequest>,
    key: IdempotencyKey,
) -> Result<HttpResponse, ApiError> {
    let project_id = path.into_inner();
    let request = body.value;
    limits::check_id("funder", &request.funder)?;
    let mut errors = Vec::new();
    let reference = funds::text(
        "reference",
        &request.reference,
        GRANT_REFERENCE_LENGTH_MAX,
        &mut errors,
    );
    let received_on = parse_date("received_on", &request.received_on)
        .map_err(|e| errors.push(e))
        .ok();
    let period_start = request.period_start.as_deref().and_then(|d| {
        parse_date("period_start", d)
            .map_err(|e| errors.push(e))
            .ok()
    });
    let period_end = request
        .period_end
        .as_deref()
        .and_then(|d| parse_date("period_end", d).map_err(|e| errors.push(e)).ok());
    if let (Some(start), Some(end)) = (period_start, period_end)
        && start > end
    {
        errors.push(FieldError::new(
            "period_end",
            "invalid_date",
            "the period ends before it starts",
        ));
    }
    let restriction = request
        .restriction
        .as_deref()
        .map(|r| funds::text("restriction", r, GRANT_TEXT_LENGTH_MAX, &mut errors));
    if request.kind == GrantKind::Donation
        && (restriction.is_some() || !request.eligible_categories.is_empty())
    {
        errors.push(FieldError::new(
            "restriction",
            "invalid_scope",
            "donations carry no conditions; record a grant",
        ));
    }
    if request.eligible_categories.len() > CATEGORIES_PER_PROJECT_MAX {
        errors.push(FieldError::new(
            "eligible_categories",
            "too_many_categories",
            format!(
                "at most {CATEGORIES_PER_PROJECT_MAX} categories, as many as a project may have"
            ),
        ));
    }
    let mut eligible_categories: Vec<String> = Vec::new();
    for (index, category) in request
        .eligible_categories
        .iter()
        .take(CATEGORIES_PER_PROJECT_MAX)
        .enumerate()
    {
        let category = funds::segment(
            &format!("eligible_categories[{index}]"),
            category,
            &mut errors,
        );
        // A category named twice is the same category: it is kept once.
        if !eligible_categories.contains(&category) {
            eligible_categories.push(category);
        }
    }
    if restriction.is_some() && reference.contains(':') {
        errors.push(FieldError::new(
            "reference",
            "invalid_account_name",
            "a restricted grant's reference names its pool: no ':'",
        ));
    }
    let description = request.description.trim().to_owned();
    limits::check_length(
        "description",
        &description,
        GRANT_TEXT_LENGTH_MAX,
        &mut errors,
    );
    write::run(&state, Some(project_id.clone()), access::idempotency_scope(&credentials), key.0, body.fingerprint, move |conn| {
        let (caller, project) = access::project_for(conn, &credentials, &project_id, Action::WriteLedger)?;
        // Serialise writers of this project first, so the reference check holds.
        db::projects::lock(conn, &project.id)?;
        let units = super::stored_units(conn)?;
        let money = funds::money(&units, "", &request.amount, &request.currency, &mut errors);
        let funder = db::agents::find(conn, &request.funder)?.ok_or_else(|| ApiError::UnknownAgent(request.funder.clone()))?;
        let (Some((unit, amount)), Some(received_on), true) = (money, received_on, errors.is_empty()) else {
            return Err(ApiError::Validation(errors));
        };
        if db::funds::grant_by_reference(conn, &project.id, &reference)?.is_some() {
            return Err(ApiError::DuplicateReference(reference));
        }
        let unit = db::projects::ensure_unit(conn, &unit)?;
        let funder_account = funds::managed(managed::funder(&funder.id))?;
        funds::ensure(conn, &project, &funder_account, unit.code(), false)?;
        let pool = match &restriction {
            Some(_) => {
                let name = managed::grant_pool(&reference)
                    .map_err(|_| ApiError::field("reference", "invalid_account_name", "a restricted grant's reference names its pool: letters, digits, '.', '_' and '-'"))?;
                if db::accounts::find(conn, &project.id, name.as_str())?.is_some() {
                    return Err(ApiError::DuplicateReference(reference));
                }
                name
            }
            None => funds::general_pool(&project, unit.code())?,
        };
        funds::ensure(conn, &project, &pool, unit.code(), true)?;
        let kind = match request.kind {
            GrantKind::Grant => TransactionKind::Grant,
            GrantKind::Donation => TransactionKind::Donation,
        };
        let record = funds::post(
            conn,
            &project,
            kind,
            received_on,
            if description.is_empty() { format!("{} {reference}", kind.as_str()) } else { description },
            serde_json::json!({"reference": reference, "funder": funder.id}),
            vec![Leg { from: funder_account, to: pool.clone(), amount, currency: unit.code().to_owned() }],
        )?;
        let row = GrantRow {
            id: uuid::Uuid::now_v7().to_string(),
            project_id: project.id.clone(),
            funder_id: funder.id,
            kind: kind.as_str().to_owned(),
            reference,
            amount: amount.minor(),
            currency: unit.code().to_owned(),
            received_on,
            period_start,
            period_end,
            restriction,
            eligible_categories: eligible_categories.join(","),
            pool_account: pool.to_string(),
            transaction_id: record.row.id,
            created_by: caller.agent().map(|a| a.id.clone()).unwrap_or_default(),
            created_at: db::now(),
        };
        db::funds::insert_grant(conn, &row)?;
        let units = super::stored_units(conn)?;
        Reply::created(&to_grant(conn, &units, row)?)
    })
    .await
}

/// List grants and donations, oldest first.
#[utoipa::path(
    tag = "funds",
    operation_id = "list_grants",
    params(("project_id" = String, Path, format = Uuid, description = "Project id"), PageQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of grants", body = GrantPage),
        (status = 400, description = "`invalid_query` (`limit`) or `invalid_cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`project_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project_id}/grants")]
pub async fn list_grants(
    state: web::Data<AppState>,
    credentials: Credentials,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<GrantPage>, ApiError> {
    let project_id = path.into_inner();
    let limit = page_size(query.limit)?;
    let after = decode_cursor(query.cursor.as_deref(), CursorKey::Id)?;
    let items = read(&state, move |conn| {
        access::project_for(conn, &credentials, &project_id, Action::ReadLedger)?;
        let units = super::stored_units(conn)?;
        let rows = db::funds::list_grants(conn, &project_id, after.as_deref(), limit)?;
        rows.into_iter()
            .map(|row| to_grant(conn, &units, row))
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    let next_cursor = next_cursor(&items, limit, |item| item.id.clone());
    Ok(web::Json(GrantPage { items, next_cursor }))
}

/// Get one grant with its figures from the ledger.
#[utoipa::path(
    tag = "funds",
    operation_id = "get_grant",
    params(
        ("project_id" = String, Path, format = Uuid, description = "Project id"),
        ("grant_id" = String, Path, format = Uuid, description = "Grant id"),
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The grant", body = Grant),
        (status = 401, description = "Invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`project_not_found` or `grant_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project_id}/grants/{grant_id}")]
pub async fn get_grant(
    state: web::Data<AppState>,
    credentials: Credentials,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Grant>, ApiError> {
    let (project_id, grant_id) = path.into_inner();
    let grant = read(&state, move |conn| {
        access::project_for(conn, &credentials, &project_id, Action::ReadLedger)?;
        let row =
            db::funds::grant(conn, &project_id, &grant_id)?.ok_or(ApiError::NotFound("grant"))?;
        let units = super::stored_units(conn)?;
        to_grant(conn, &units, row)
    })
    .await?;
    Ok(web::Json(grant))
}
