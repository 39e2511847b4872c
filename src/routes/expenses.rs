//! `/v1/projects/{project_id}/expense-categories` and `/expenses`: money
//! paid out of a pool, categorised so reports can map each category to a
//! funder's cost category (Horizon Europe A to E, for example).

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::access;
use super::codes::FieldCode;
use super::dto::PageQuery;
use super::extract::{
    CursorKey, IdempotencyKey, JsonBody, decode_cursor, next_cursor, page_size, parse_date,
};
use super::funds;
pub use super::limits::CATEGORIES_PER_PROJECT_MAX;
use super::openapi::{GrantNotFound, OwnersAndTreasurers};
use super::problem::{ApiError, FieldError, Problem};
use super::read;
use super::write::{self, Reply};
use crate::auth::{Authenticated, Credentials};
use crate::db::funds::{CategoryRow, ExpenseRow};
use crate::db::{self};
use crate::domain::access::Action;
use crate::ops::funds::NewExpense;
use crate::ops::{self, FieldProblem};
use crate::state::AppState;

/// Longest supplier, description or receipt URI, in characters.
pub const EXPENSE_TEXT_LENGTH_MAX: usize = 1_000;
/// Longest funder's cost category, in characters (a line of a funder's
/// budget template, such as "C.3 other goods, works and services").
pub const FUNDER_CATEGORY_LENGTH_MAX: usize = 100;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_expense_category)
        .service(list_expense_categories)
        .service(create_expense)
        .service(list_expenses);
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpenseCategory {
    /// The category's name, also its expense account: `expense:<name>`.
    #[schema(example = "parts", max_length = 100)]
    pub name: String,
    /// The funder's cost category it reports under.
    #[serde(default)]
    #[schema(example = "C purchases", max_length = 100)]
    pub funder_category: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExpenseCategoryList {
    pub items: Vec<ExpenseCategory>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateExpenseRequest {
    /// Pay from this grant's money (its pool); omit to pay from the general pool.
    #[schema(format = Uuid, max_length = 36)]
    pub grant: Option<String>,
    /// Positive decimal string with at most the currency's decimals, at most
    /// 10^15 minor units (10,000,000,000,000.00 EUR; 10^15 JPY) and 40 characters.
    #[schema(example = "1200.00", pattern = r"^[0-9]+(\.[0-9]+)?$", max_length = 40)]
    pub amount: String,
    #[schema(example = "EUR", max_length = 8)]
    pub currency: String,
    #[schema(example = "parts", max_length = 100)]
    pub category: String,
    #[schema(example = "Capteurs & Cie", max_length = 1000)]
    pub supplier: String,
    #[schema(example = "2026-03-15", format = Date, max_length = 10)]
    pub date: String,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub description: String,
    #[schema(max_length = 1000)]
    pub receipt_uri: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Expense {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub grant: Option<String>,
    pub pool: String,
    pub amount: String,
    pub currency: String,
    pub category: String,
    pub supplier: String,
    #[schema(format = Date)]
    pub date: String,
    pub description: String,
    pub receipt_uri: Option<String>,
    #[schema(format = Uuid)]
    pub transaction: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExpensePage {
    pub items: Vec<Expense>,
    pub next_cursor: Option<String>,
}

fn to_expense(
    units: &std::collections::HashMap<String, crate::domain::Unit>,
    row: ExpenseRow,
) -> Expense {
    Expense {
        amount: super::format_minor(units, &row.currency, row.amount),
        date: row.date.to_string(),
        id: row.id,
        grant: row.grant_id,
        pool: row.pool_account,
        currency: row.currency,
        category: row.category,
        supplier: row.supplier,
        description: row.description,
        receipt_uri: row.receipt_uri,
        transaction: row.transaction_id,
    }
}

/// Add an expense category (owners and treasurers).
#[utoipa::path(
    tag = "funds",
    request_body = ExpenseCategory,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The category", body = ExpenseCategory),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`category_exists`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_account_name`, `too_many_categories`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project_id}/expense-categories")]
pub async fn create_expense_category(
    state: web::Data<AppState>,
    Authenticated(credentials): Authenticated,
    path: web::Path<String>,
    body: JsonBody<ExpenseCategory>,
    key: IdempotencyKey,
) -> Result<HttpResponse, ApiError> {
    let project_id = path.into_inner();
    let request = body.value;
    let mut errors = Vec::new();
    let name = funds::segment("name", &request.name, &mut errors);
    let funder_category = request.funder_category.trim().to_owned();
    if funder_category.chars().count() > FUNDER_CATEGORY_LENGTH_MAX {
        errors.push(FieldError::new(
            "funder_category",
            FieldCode::TooLong,
            format!("at most {FUNDER_CATEGORY_LENGTH_MAX} characters"),
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    write::run(
        &state,
        Some(project_id.clone()),
        access::idempotency_scope(&credentials),
        key.0,
        body.fingerprint,
        move |conn| {
            let (_, project) =
                access::project_for(conn, &credentials, &project_id, Action::WriteLedger)?;
            db::projects::lock(conn, &project.id)?;
            if db::funds::category(conn, &project.id, &name)?.is_some() {
                return Err(ApiError::CategoryExists(name));
            }
            if db::funds::categories(conn, &project.id)?.len() >= CATEGORIES_PER_PROJECT_MAX {
                return Err(ApiError::field(
                    "name",
                    FieldCode::TooManyCategories,
                    format!("at most {CATEGORIES_PER_PROJECT_MAX} categories"),
                ));
            }
            db::funds::insert_category(
                conn,
                &CategoryRow {
                    project_id: project.id,
                    name: name.clone(),
                    funder_category: funder_category.clone(),
                    created_at: db::now(),
                },
            )?;
            Reply::created(&ExpenseCategory {
                name,
                funder_category,
            })
        },
    )
    .await
}

/// List a project's expense categories (at most 200), by name.
#[utoipa::path(
    tag = "funds",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The categories", body = ExpenseCategoryList),
    )
)]
#[get("/projects/{project_id}/expense-categories")]
pub async fn list_expense_categories(
    state: web::Data<AppState>,
    credentials: Credentials,
    path: web::Path<String>,
) -> Result<web::Json<ExpenseCategoryList>, ApiError> {
    let project_id = path.into_inner();
    let rows = read(&state, move |conn| {
        access::project_for(conn, &credentials, &project_id, Action::ReadLedger)?;
        Ok(db::funds::categories(conn, &project_id)?)
    })
    .await?;
    Ok(web::Json(ExpenseCategoryList {
        items: rows
            .into_iter()
            .map(|row| ExpenseCategory {
                name: row.name,
                funder_category: row.funder_category,
            })
            .collect(),
    }))
}

/// Record an expense paid from a pool (owners and treasurers). A grant's
/// restricted money pays only for its eligible categories; no pool pays
/// more than it holds.
#[utoipa::path(
    tag = "funds",
    request_body = CreateExpenseRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The expense", body = Expense),
        OwnersAndTreasurers, GrantNotFound, (status = 422, description = "`insufficient_funds`, `restricted_purpose`, `unknown_category`, `currency_mismatch`, `amount_precision`, ...", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project_id}/expenses")]
pub async fn create_expense(
    state: web::Data<AppState>,
    Authenticated(credentials): Authenticated,
    path: web::Path<String>,
    body: JsonBody<CreateExpenseRequest>,
    key: IdempotencyKey,
) -> Result<HttpResponse, ApiError> {
    let project_id = path.into_inner();
    if let Some(grant) = &body.value.grant {
        super::limits::check_id("grant", grant)?;
    }
    let expense = parse_expense(&body.value);
    let scope = access::idempotency_scope(&credentials);
    write::run(
        &state,
        Some(project_id.clone()),
        scope,
        key.0,
        body.fingerprint,
        move |conn| {
            let (caller, project) =
                access::project_for(conn, &credentials, &project_id, Action::WriteLedger)?;
            let recorder = caller.agent().map(|a| a.id.clone()).unwrap_or_default();
            let row = ops::funds::record_expense(conn, &project, &recorder, &expense)?;
            Reply::created(&to_expense(&super::stored_units(conn)?, row))
        },
    )
    .await
}

/// An expense request checked field by field, before the database.
fn parse_expense(request: &CreateExpenseRequest) -> NewExpense {
    let mut errors = Vec::new();
    let date = parse_date("date", &request.date)
        .map_err(|e| errors.push(e))
        .ok();
    let supplier = funds::text(
        "supplier",
        &request.supplier,
        EXPENSE_TEXT_LENGTH_MAX,
        &mut errors,
    );
    let description = request.description.trim().to_owned();
    if description.chars().count() > EXPENSE_TEXT_LENGTH_MAX {
        errors.push(FieldError::new(
            "description",
            FieldCode::TooLong,
            format!("at most {EXPENSE_TEXT_LENGTH_MAX} characters"),
        ));
    }
    let receipt_uri = request
        .receipt_uri
        .as_deref()
        .map(|uri| funds::text("receipt_uri", uri, EXPENSE_TEXT_LENGTH_MAX, &mut errors));
    let category = request.category.trim().to_owned();
    super::limits::check_length(
        "category",
        &category,
        funds::SEGMENT_LENGTH_MAX,
        &mut errors,
    );
    NewExpense {
        grant: request.grant.clone(),
        category,
        supplier,
        date,
        description,
        receipt_uri,
        amount: request.amount.clone(),
        currency: request.currency.clone(),
        problems: errors.into_iter().map(FieldProblem::from).collect(),
    }
}

/// List expenses, oldest first.
#[utoipa::path(
    tag = "funds",
    params(PageQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of expenses", body = ExpensePage),
    )
)]
#[get("/projects/{project_id}/expenses")]
pub async fn list_expenses(
    state: web::Data<AppState>,
    credentials: Credentials,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ExpensePage>, ApiError> {
    let project_id = path.into_inner();
    let limit = page_size(query.limit)?;
    let after = decode_cursor(query.cursor.as_deref(), CursorKey::Id)?;
    let (units, rows) = read(&state, move |conn| {
        access::project_for(conn, &credentials, &project_id, Action::ReadLedger)?;
        Ok((
            super::stored_units(conn)?,
            db::funds::list_expenses(conn, &project_id, after.as_deref(), limit)?,
        ))
    })
    .await?;
    let next_cursor = next_cursor(&rows, limit, |row| row.id.clone());
    Ok(web::Json(ExpensePage {
        items: rows
            .into_iter()
            .map(|row| to_expense(&units, row))
            .collect(),
        next_cursor,
    }))
}
