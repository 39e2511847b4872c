//! `/v1/projects/{project_id}/grants`: grants and donations received. Each
//! posts a ledger transaction from the funder's account into the general
//! pool, or, when restricted, into a pool of its own; its figures (received,
//! spent, distributed, remaining) are read back from the ledger.

use chrono::NaiveDate;
use commons_ledger_macros::operation;

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::accounts::holding_amounts;
use super::call::{Page, ProjectCall, ProjectPage, ProjectWrite, Units};
use super::codes::{FieldCode, Resource};
use super::dto::PageQuery;
use super::dto::page_type;
use super::extract::{CursorKey, date_field};
use super::funds;
use super::limits;
use super::limits::CATEGORIES_PER_PROJECT_MAX;
use super::openapi::{GrantNotFound, OwnersAndTreasurers};
use super::problem::{ApiError, FieldError, Problem};
use super::write::Reply;
use crate::db::funds::GrantRow;
use crate::db::projects::Project;
use crate::db::{self, DbConnection};
use crate::domain::access::Action;
use crate::domain::funds::distributable;
use crate::domain::{TransactionKind, Unit};
use crate::http::reply::in_project;
use crate::ops::funds::NewGrant;
use crate::ops::{self, FieldProblem};

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
#[schema(example = json!({"funder": "0f3c2a9e-5b1d-4c7e-9a2f-3d4e5f607182", "kind": "grant", "reference": "FH-2026-017", "amount": "10000.00", "currency": "EUR", "received_on": "2026-02-01", "restriction": "air-quality sensor programme", "eligible_categories": ["parts"], "distributable": true, "description": "Fondation Horizon, air-quality sensor programme"}))]
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
    /// Whether the grant's money may pay contributors (a distribution from
    /// its pool). Default: false for a restricted grant, true otherwise;
    /// `false` without a restriction is 422 `invalid_scope`.
    pub distributable: Option<bool>,
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
    /// Whether its money may pay contributors (a distribution from its pool).
    pub distributable: bool,
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
    /// Released from a restricted pool to the general pool, net of reversals.
    pub released: String,
    /// Exchanged out of the pool into other currencies, net of what came
    /// back by exchange and of reversals (in the grant's currency).
    pub exchanged: String,
    /// A restricted grant's money exchanged into other currencies, pool by
    /// pool (`pool:grant:<reference>:<currency>`), where it stays
    /// restricted; empty when there is none.
    pub other_pools: Vec<GrantPool>,
    /// The pool's balance now.
    pub remaining: String,
    /// The pool's balance now (as `remaining`).
    pub balance: String,
    /// What approved distribution runs reserve of the pool until they are
    /// executed or cancelled.
    pub reserved: String,
    /// The pool's balance less what is reserved: what may still be spent,
    /// released or distributed.
    pub available: String,
}

page_type!(GrantPage, Grant);

/// One of a restricted grant's pools in a currency other than its own.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GrantPool {
    #[schema(example = "pool:grant:FH-2026-017:eur")]
    pub pool: String,
    #[schema(example = "EUR")]
    pub currency: String,
    pub balance: String,
    /// What approved distribution runs reserve of it.
    pub reserved: String,
    /// The balance less what is reserved.
    pub available: String,
}

/// The grant as the API shows it, with its figures from the ledger.
fn to_grant(conn: &mut DbConnection, units: &Units, row: GrantRow) -> Result<Grant, ApiError> {
    let (figures, holding, reversed_by) = ops::funds::figures(conn, &row)?;
    let money = |minor: i128| {
        let scale = units.get(&row.currency).map_or(0, Unit::scale);
        crate::domain::money::format_minor_wide(minor, scale)
    };
    let others = if row.restriction.is_some() {
        db::accounts::under(conn, &row.project_id, &row.pool_account)?
    } else {
        Vec::new()
    };
    let holdings = db::accounts::holdings(conn, &others)?;
    let other_pools = others
        .into_iter()
        .zip(holdings)
        .map(|(pool, holding)| {
            let [balance, reserved, available] = holding_amounts(units, &pool.currency, holding);
            GrantPool {
                balance,
                reserved,
                available,
                pool: pool.name,
                currency: pool.currency,
            }
        })
        .collect();
    Ok(Grant {
        other_pools,
        exchanged: money(figures.exchanged),
        amount: super::format_minor(units, &row.currency, row.amount),
        received: money(figures.received),
        spent: money(figures.spent),
        distributed: money(figures.distributed),
        released: money(figures.released),
        distributable: row.distributable != 0,
        remaining: money(i128::from(holding.balance)),
        balance: money(i128::from(holding.balance)),
        reserved: money(i128::from(holding.reserved)),
        available: money(i128::from(holding.available())),
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
        pool_shared: row.restriction.is_none(),
        reversed_by,
        id: row.id,
        funder: row.funder_id,
        reference: row.reference,
        currency: row.currency,
        restriction: row.restriction,
        pool: row.pool_account,
        transaction: row.transaction_id,
    })
}

/// Record a grant or donation
///
/// Records money received from a funder (owners and treasurers): a `grant`
/// transaction into the grant's own pool when it is restricted to a purpose,
/// into the general pool otherwise.
#[operation(post "/projects/{project_id}/grants", tag = "funds",
    request_body = CreateGrantRequest, signed_in,
    responses(
        201 Grant "The grant, with its figures",
        OwnersAndTreasurers,
        409 "`duplicate_reference`, or idempotent request in flight",
        422 "`amount_precision`, `unknown_currency`, `unknown_agent`, `invalid_date`, `currency_mismatch`, ...",
    ))]
pub async fn create_grant(
    ProjectWrite { body, call }: ProjectWrite<CreateGrantRequest>,
) -> Result<HttpResponse, ApiError> {
    limits::check_id("funder", &body.funder)?;
    let grant = parse_grant(&body);
    call.run(Action::WriteLedger, move |conn, caller, project| {
        let recorder = caller.signed_in()?.id.clone();
        let row = ops::funds::receive_grant(conn, project, &recorder, &grant)?;
        let units = super::stored_units(conn)?;
        let grant = to_grant(conn, &units, row)?;
        let location = in_project(&project.id, format_args!("grants/{}", grant.id));
        Reply::created(location, &grant)
    })
    .await
}

/// A grant request checked field by field, before the database.
fn parse_grant(request: &CreateGrantRequest) -> NewGrant {
    let mut errors = Vec::new();
    let reference = funds::text(
        "reference",
        &request.reference,
        GRANT_REFERENCE_LENGTH_MAX,
        &mut errors,
    );
    let received_on = date_field("received_on", &request.received_on, &mut errors);
    let (period_start, period_end) = parse_period(request, &mut errors);
    let restriction = request
        .restriction
        .as_deref()
        .map(|r| funds::text("restriction", r, GRANT_TEXT_LENGTH_MAX, &mut errors));
    if request.kind == GrantKind::Donation
        && (restriction.is_some() || !request.eligible_categories.is_empty())
    {
        errors.push(FieldError::new(
            "restriction",
            FieldCode::InvalidScope,
            "donations carry no conditions; record a grant",
        ));
    }
    let eligible_categories = parse_categories(&request.eligible_categories, &mut errors);
    let distributable = distributable(restriction.is_some(), request.distributable)
        .map_err(|e| errors.push(FieldError::new("distributable", FieldCode::InvalidScope, e)))
        .unwrap_or(false);
    if restriction.is_some() && reference.contains(':') {
        errors.push(FieldError::new(
            "reference",
            FieldCode::InvalidAccountName,
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
    NewGrant {
        funder: request.funder.clone(),
        kind: match request.kind {
            GrantKind::Grant => TransactionKind::Grant,
            GrantKind::Donation => TransactionKind::Donation,
        },
        reference,
        amount: request.amount.clone(),
        currency: request.currency.clone(),
        received_on,
        period_start,
        period_end,
        restriction,
        eligible_categories,
        distributable,
        description,
        problems: errors.into_iter().map(FieldProblem::from).collect(),
    }
}

/// The grant's period, if given, and that it does not end before it starts.
fn parse_period(
    request: &CreateGrantRequest,
    errors: &mut Vec<FieldError>,
) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let mut date = |field: &str, text: &Option<String>| {
        text.as_deref().and_then(|d| date_field(field, d, errors))
    };
    let start = date("period_start", &request.period_start);
    let end = date("period_end", &request.period_end);
    if let (Some(start), Some(end)) = (start, end)
        && start > end
    {
        errors.push(FieldError::new(
            "period_end",
            FieldCode::InvalidDate,
            "the period ends before it starts",
        ));
    }
    (start, end)
}

/// The eligible categories, each named once, at most as many as a project has.
fn parse_categories(categories: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
    if categories.len() > CATEGORIES_PER_PROJECT_MAX {
        errors.push(FieldError::new(
            "eligible_categories",
            FieldCode::TooManyCategories,
            format!(
                "at most {CATEGORIES_PER_PROJECT_MAX} categories, as many as a project may have"
            ),
        ));
    }
    let mut eligible: Vec<String> = Vec::new();
    for (index, category) in categories
        .iter()
        .take(CATEGORIES_PER_PROJECT_MAX)
        .enumerate()
    {
        let category = funds::segment(&format!("eligible_categories[{index}]"), category, errors);
        // A category named twice is the same category: it is kept once.
        if !eligible.contains(&category) {
            eligible.push(category);
        }
    }
    eligible
}

/// List grants
///
/// Grants and donations oldest first, with their funder, reference and
/// restriction.
#[operation(get "/projects/{project_id}/grants", tag = "funds", public, params(PageQuery),
    responses(200 GrantPage "A page of grants"))]
pub async fn list_grants(page: ProjectPage) -> Result<web::Json<GrantPage>, ApiError> {
    let fetch = |conn: &mut DbConnection, project: &Project, after: Option<&str>, limit| {
        let units = super::stored_units(conn)?;
        let rows = db::funds::list_grants(conn, &project.id, after, limit)?;
        rows.into_iter()
            .map(|row| to_grant(conn, &units, row))
            .collect::<Result<Vec<_>, _>>()
    };
    let page = page
        .read(Action::ReadLedger, CursorKey::Id, fetch, |g| g.id.clone())
        .await?;
    Ok(web::Json(page.into()))
}

/// The project's grant `id` (404 `grant_not_found`).
pub fn find_grant(
    conn: &mut DbConnection,
    project: &Project,
    id: &str,
) -> Result<GrantRow, ApiError> {
    db::funds::grant(conn, &project.id, id)?.ok_or(ApiError::NotFound(Resource::Grant))
}

/// A read of one grant's items after the cursor, made into what is
/// answered: `(project, grant, after, limit)`.
pub type GrantItems<T> =
    fn(&mut DbConnection, &Project, &GrantRow, Option<&str>, i64) -> Result<Vec<T>, ApiError>;

/// A page of what one grant of the project holds (its releases, its
/// in-kind allocations), for whoever may read the ledger: the path's grant
/// is found first (404 `grant_not_found`), then `fetch` reads its items
/// after the cursor (an id), and `sort_key` gives the next page's cursor.
pub async fn grant_page<T: Send + 'static>(
    page: ProjectPage,
    path: web::Path<(String, String)>,
    fetch: GrantItems<T>,
    sort_key: fn(&T) -> String,
) -> Result<Page<T>, ApiError> {
    let (_, grant_id) = path.into_inner();
    let fetch = move |conn: &mut DbConnection, project: &Project, after: Option<&str>, limit| {
        let grant = find_grant(conn, project, &grant_id)?;
        fetch(conn, project, &grant, after, limit)
    };
    page.read(Action::ReadLedger, CursorKey::Id, fetch, sort_key)
        .await
}

/// Get a grant
///
/// One grant with its figures from the ledger: received, spent, distributed,
/// released, exchanged, reserved, available and remaining.
#[operation(get "/projects/{project_id}/grants/{grant_id}", tag = "funds", public,
    params(id "grant_id" "Grant id"), responses(200 Grant "The grant", GrantNotFound))]
pub async fn get_grant(
    call: ProjectCall,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Grant>, ApiError> {
    call.read_item(path, |conn, project, grant_id: String| {
        let row = find_grant(conn, project, &grant_id)?;
        let units = super::stored_units(conn)?;
        to_grant(conn, &units, row)
    })
    .await
}
