//! `/v1/projects/{project_id}/expense-categories` and `/expenses`: money
//! paid out of a pool, categorised so reports can map each category to a
//! funder's cost category (Horizon Europe A to E, for example).

use actix_web::{HttpResponse, get, post, web};
use commons_ledger_macros::operation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::call::{ItemWrite, ProjectCall, ProjectPage, ProjectWrite, Units, WriteCall};
use super::codes::FieldCode;
use super::dto::PageQuery;
use super::dto::page_type;
use super::extract::date_field;
use super::funds::{self, DecideRecord, RecordNew, RejectionRequest};
pub use super::limits::CATEGORIES_PER_PROJECT_MAX;
use super::limits::check_length;
use super::openapi::{
    FourEyesRefusals, GrantNotFound, OwnersAndTreasurers, RejectionReasonRefused,
};
use super::problem::{ApiError, Problem};
use super::write::Reply;
use crate::db::funds::{CategoryRow, ExpenseRow};
use crate::db::{self};
use crate::domain::access::Action;
use crate::http::reply::in_project;
use crate::ops::funds::{Decision, NewExpense};
use crate::ops::{self, FieldProblem};

/// Longest supplier, description or receipt URI, in characters.
pub const EXPENSE_TEXT_LENGTH_MAX: usize = 1_000;
/// Longest funder's cost category, in characters (a line of a funder's
/// budget template, such as "C.3 other goods, works and services").
pub const FUNDER_CATEGORY_LENGTH_MAX: usize = 100;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_expense_category)
        .service(list_expense_categories)
        .service(create_expense)
        .service(list_expenses)
        .service(approve_expense)
        .service(reject_expense);
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "parts", "funder_category": "C purchases"}))]
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
#[schema(example = json!({"amount": "1200.00", "currency": "EUR", "category": "parts", "supplier": "Capteurs & Cie", "date": "2026-03-15", "grant": "2b6f8c1d-9e0a-4f3b-8c7d-1e2f3a4b5c6d", "description": "sensor parts for the air-quality network", "receipt_uri": "https://files.openair-lyon.org/receipts/2026-03-15.pdf"}))]
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
    /// The `expense` ledger transaction; null while pending or once rejected.
    #[schema(format = Uuid)]
    pub transaction: Option<String>,
    /// `posted`; `pending` while it waits for another owner or treasurer
    /// (four eyes); `rejected` if refused.
    #[schema(example = "posted")]
    pub status: String,
    /// Who approved or rejected it, if it was pending.
    #[schema(format = Uuid)]
    pub decided_by: Option<String>,
    pub rejection_reason: Option<String>,
}

page_type!(ExpensePage, Expense);

fn to_expense(units: &Units, row: ExpenseRow) -> Expense {
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
        status: row.status.as_str().to_owned(),
        decided_by: row.decided_by,
        rejection_reason: row.rejection_reason,
    }
}

/// Add an expense category
///
/// Adds an expense category that expenses, claims and grant restrictions can
/// name (owners and treasurers).
#[operation(post "/projects/{project_id}/expense-categories", tag = "funds",
    request_body = ExpenseCategory, signed_in,
    responses(
        201 ExpenseCategory "The category",
        403 "`forbidden`",
        409 "`category_exists`",
        422 "`invalid_account_name`, `too_many_categories`",
    ))]
pub async fn create_expense_category(
    ProjectWrite { body, call }: ProjectWrite<ExpenseCategory>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    let name = funds::segment("name", &body.name, &mut errors);
    let funder_category = body.funder_category.trim().to_owned();
    check_length(
        "funder_category",
        &funder_category,
        FUNDER_CATEGORY_LENGTH_MAX,
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    call.run(Action::WriteLedger, move |conn, _, project| {
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
        let row = CategoryRow {
            project_id: project.id.to_string(),
            name,
            funder_category,
            created_at: db::now(),
        };
        db::funds::insert_category(conn, &row)?;
        // A category has no `GET` of its own: the category list holds it.
        Reply::created(
            in_project(&project.id, format_args!("expense-categories")),
            &to_category(row),
        )
    })
    .await
}

fn to_category(row: CategoryRow) -> ExpenseCategory {
    ExpenseCategory {
        name: row.name,
        funder_category: row.funder_category,
    }
}

/// List expense categories
///
/// A project's expense categories (at most 200), by name.
#[operation(get "/projects/{project_id}/expense-categories", tag = "funds", public,
    responses(200 ExpenseCategoryList "The categories"))]
pub async fn list_expense_categories(
    call: ProjectCall,
) -> Result<web::Json<ExpenseCategoryList>, ApiError> {
    let rows = call
        .read(Action::ReadLedger, |conn, _, project| {
            Ok(db::funds::categories(conn, &project.id)?)
        })
        .await?;
    let items = rows.into_iter().map(to_category).collect();
    Ok(web::Json(ExpenseCategoryList { items }))
}

/// Record an expense
///
/// Records an expense paid from a pool (owners and treasurers). A grant's
/// restricted money pays only for its eligible categories; no pool pays more
/// than it holds. Above the project's `four_eyes_above` it is pending until
/// another owner or treasurer approves it.
#[operation(post "/projects/{project_id}/expenses", tag = "funds",
    request_body = CreateExpenseRequest, signed_in,
    responses(
        201 Expense "The expense",
        OwnersAndTreasurers,
        GrantNotFound,
        422 "`insufficient_funds`, `restricted_purpose`, `unknown_category`, `currency_mismatch`, `amount_precision`, ...",
    ))]
pub async fn create_expense(
    ProjectWrite { body, call }: ProjectWrite<CreateExpenseRequest>,
) -> Result<HttpResponse, ApiError> {
    super::limits::check_optional_id("grant", body.grant.as_deref())?;
    // An expense has no `GET` of its own: the expense list holds it.
    let record = ("expenses", ops::funds::record_expense as RecordNew<_, _>);
    funds::record_listed(call, parse_expense(&body), record, to_expense).await
}

/// An expense request checked field by field, before the database.
fn parse_expense(request: &CreateExpenseRequest) -> NewExpense {
    let mut errors = Vec::new();
    let date = date_field("date", &request.date, &mut errors);
    let supplier = funds::text(
        "supplier",
        &request.supplier,
        EXPENSE_TEXT_LENGTH_MAX,
        &mut errors,
    );
    let description = request.description.trim().to_owned();
    check_length(
        "description",
        &description,
        EXPENSE_TEXT_LENGTH_MAX,
        &mut errors,
    );
    let receipt_uri = request
        .receipt_uri
        .as_deref()
        .map(|uri| funds::text("receipt_uri", uri, EXPENSE_TEXT_LENGTH_MAX, &mut errors));
    let category = funds::category(&request.category, &mut errors);
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

/// List expenses
///
/// Expenses oldest first, with their status and transaction.
#[operation(get "/projects/{project_id}/expenses", tag = "funds", public, params(PageQuery),
    responses(200 ExpensePage "A page of expenses"))]
pub async fn list_expenses(page: ProjectPage) -> Result<web::Json<ExpensePage>, ApiError> {
    let page = page
        .list(
            Action::ReadLedger,
            db::funds::list_expenses,
            to_expense,
            |e| &e.id,
        )
        .await?;
    Ok(web::Json(page.into()))
}

/// Approve a pending expense
///
/// Approves an expense above the project's `four_eyes_above`: its transaction
/// is posted now, the pool checked then (owners and treasurers other than its
/// recorder).
#[operation(post "/projects/{project_id}/expenses/{expense_id}/approvals", tag = "funds",
    signed_in, params(id "expense_id" "Expense id"),
    responses(
        201 Expense "The expense, posted",
        FourEyesRefusals,
        404 "`project_not_found` or `expense_not_found`",
        422 "`insufficient_funds` (more than the pool holds free now)",
    ))]
pub async fn approve_expense(
    ItemWrite { call, id, .. }: ItemWrite<serde_json::Map<String, serde_json::Value>>,
) -> Result<HttpResponse, ApiError> {
    decide(call, id, Decision::Approve).await
}

/// Reject a pending expense
///
/// Rejects a pending expense for a reason: nothing is posted (owners and
/// treasurers other than its recorder).
#[operation(post "/projects/{project_id}/expenses/{expense_id}/rejections", tag = "funds",
    request_body = RejectionRequest, signed_in, params(id "expense_id" "Expense id"),
    responses(
        201 Expense "The expense, rejected",
        FourEyesRefusals,
        404 "`project_not_found` or `expense_not_found`",
        RejectionReasonRefused,
    ))]
pub async fn reject_expense(
    ItemWrite { body, call, id }: ItemWrite<RejectionRequest>,
) -> Result<HttpResponse, ApiError> {
    decide(call, id, funds::rejection(&body)?).await
}

async fn decide(call: WriteCall, id: String, decision: Decision) -> Result<HttpResponse, ApiError> {
    // An expense has no `GET` of its own: the expense list holds it.
    let record = ("expenses", ops::funds::decide_expense as DecideRecord<_>);
    funds::decide_listed(call, (id, decision), record, to_expense).await
}
