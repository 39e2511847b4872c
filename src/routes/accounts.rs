//! `/v1/projects/{project_id}/accounts` and `/balances`: the accounts of a
//! project's ledger, each holding one unit, and their balances.

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::access;
use super::codes::{FieldCode, Resource};
use super::extract::{CursorKey, IdempotencyKey, JsonBody, decode_cursor, next_cursor, page_size};
use super::openapi::Forbidden;
use super::problem::{ApiError, FieldError, Problem};
use super::read;
use super::write::{self, Reply};
use crate::auth::{Authenticated, Credentials};
use crate::db::accounts::AccountRow;
use crate::db::{self, OnDuplicate};
use crate::domain::access::Action;
use crate::domain::{AccountName, Unit};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_account)
        .service(list_accounts)
        .service(get_account)
        .service(list_balances);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccountRequest {
    /// Colon-separated name, e.g. `pool:general` or `pool:grant:FH-2026-017`.
    #[schema(example = "pool:general", max_length = 200)]
    pub name: String,
    /// The one unit the account holds: an ISO 4217 code or a declared unit (`HOUR`).
    #[schema(example = "EUR", max_length = 8)]
    pub currency: String,
    /// Whether the balance may never go below zero (pools, contributors).
    #[serde(default)]
    pub non_negative: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Account {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    pub currency: String,
    pub non_negative: bool,
    /// What the account received minus what it sent, as a decimal string.
    #[schema(example = "100.00")]
    pub balance: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountPage {
    pub items: Vec<Account>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Balance {
    pub account: String,
    pub currency: String,
    #[schema(example = "100.00")]
    pub balance: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BalancePage {
    pub items: Vec<Balance>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Cursor from the previous page's `next_cursor`.
    #[param(min_length = 1)]
    pub cursor: Option<String>,
    /// Only accounts of this unit.
    #[param(max_length = 8)]
    pub currency: Option<String>,
}

fn to_account(units: &std::collections::HashMap<String, Unit>, row: AccountRow) -> Account {
    Account {
        balance: super::format_minor(units, &row.currency, row.balance),
        id: row.id,
        name: row.name,
        currency: row.currency,
        non_negative: row.non_negative != 0,
        created_at: db::format_timestamp(row.created_at),
    }
}

/// Open an account in a project's ledger.
#[utoipa::path(
    tag = "accounts",
    request_body = CreateAccountRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The account, with a zero balance", body = Account),
        Forbidden, (status = 409, description = "`account_exists`, or idempotent request in flight", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_account_name`, `unknown_currency`, `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project_id}/accounts")]
pub async fn create_account(
    state: web::Data<AppState>,
    Authenticated(credentials): Authenticated,
    path: web::Path<String>,
    body: JsonBody<CreateAccountRequest>,
    key: IdempotencyKey,
) -> Result<HttpResponse, ApiError> {
    let project_id = path.into_inner();
    let request = body.value;
    let mut errors = Vec::new();
    let name = AccountName::parse(&request.name)
        .map_err(|e| errors.push(FieldError::new("name", FieldCode::InvalidAccountName, e)))
        .ok();
    let code = request.currency;
    write::run(
        &state,
        Some(project_id.clone()),
        access::idempotency_scope(&credentials),
        key.0,
        body.fingerprint,
        move |conn| {
            let project =
                access::project_for(conn, &credentials, &project_id, Action::WriteLedger)?.1;
            let units = super::stored_units(conn)?;
            let unit = super::resolve_unit(&units, &code)
                .map_err(|e| {
                    errors.push(FieldError::new("currency", FieldCode::UnknownCurrency, e))
                })
                .ok();
            let (Some(name), Some(unit), true) = (name, unit, errors.is_empty()) else {
                return Err(ApiError::Validation(errors));
            };
            if db::accounts::find(conn, &project.id, name.as_str())?.is_some() {
                return Err(ApiError::AccountExists(name.to_string()));
            }
            let unit = db::projects::ensure_unit(conn, &unit)?;
            // A concurrent request may have created the same account first.
            let row =
                db::accounts::insert(conn, &project.id, &name, unit.code(), request.non_negative)
                    .on_duplicate(|| ApiError::AccountExists(name.to_string()))?;
            let units = super::stored_units(conn)?;
            Reply::created(&to_account(&units, row))
        },
    )
    .await
}

/// List a project's accounts by name.
#[utoipa::path(
    tag = "accounts",
    params(AccountQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of accounts", body = AccountPage),
    )
)]
#[get("/projects/{project_id}/accounts")]
pub async fn list_accounts(
    state: web::Data<AppState>,
    credentials: Credentials,
    path: web::Path<String>,
    query: web::Query<AccountQuery>,
) -> Result<web::Json<AccountPage>, ApiError> {
    let project_id = path.into_inner();
    let limit = page_size(query.limit)?;
    let after = decode_cursor(query.cursor.as_deref(), CursorKey::AccountName)?;
    super::limits::check_query(
        "currency",
        query.currency.as_deref(),
        super::limits::UNIT_CODE_LENGTH_MAX,
    )?;
    let currency = query.currency.clone();
    let (units, rows) = read(&state, move |conn| {
        access::project_for(conn, &credentials, &project_id, Action::ReadLedger)?;
        let rows = db::accounts::list(
            conn,
            &project_id,
            currency.as_deref(),
            after.as_deref(),
            limit,
        )?;
        Ok((super::stored_units(conn)?, rows))
    })
    .await?;
    let next_cursor = next_cursor(&rows, limit, |row| row.name.clone());
    Ok(web::Json(AccountPage {
        items: rows
            .into_iter()
            .map(|row| to_account(&units, row))
            .collect(),
        next_cursor,
    }))
}

/// Get one account and its balance.
#[utoipa::path(
    tag = "accounts",
    params(
        ("account_name" = String, Path, description = "Account name, e.g. `pool:general`"),
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The account", body = Account),
        (status = 404, description = "`project_not_found` or `account_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project_id}/accounts/{account_name}")]
pub async fn get_account(
    state: web::Data<AppState>,
    credentials: Credentials,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Account>, ApiError> {
    let (project_id, account_name) = path.into_inner();
    let (units, row) = read(&state, move |conn| {
        access::project_for(conn, &credentials, &project_id, Action::ReadLedger)?;
        let row = db::accounts::find(conn, &project_id, &account_name)?
            .ok_or(ApiError::NotFound(Resource::Account))?;
        Ok((super::stored_units(conn)?, row))
    })
    .await?;
    Ok(web::Json(to_account(&units, row)))
}

/// Balances of a project's accounts, by account name.
#[utoipa::path(
    tag = "accounts",
    params(AccountQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of balances", body = BalancePage),
    )
)]
#[get("/projects/{project_id}/balances")]
pub async fn list_balances(
    state: web::Data<AppState>,
    credentials: Credentials,
    path: web::Path<String>,
    query: web::Query<AccountQuery>,
) -> Result<web::Json<BalancePage>, ApiError> {
    let project_id = path.into_inner();
    let limit = page_size(query.limit)?;
    let after = decode_cursor(query.cursor.as_deref(), CursorKey::AccountName)?;
    super::limits::check_query(
        "currency",
        query.currency.as_deref(),
        super::limits::UNIT_CODE_LENGTH_MAX,
    )?;
    let currency = query.currency.clone();
    let (units, rows) = read(&state, move |conn| {
        access::project_for(conn, &credentials, &project_id, Action::ReadLedger)?;
        let rows = db::accounts::list(
            conn,
            &project_id,
            currency.as_deref(),
            after.as_deref(),
            limit,
        )?;
        Ok((super::stored_units(conn)?, rows))
    })
    .await?;
    let next_cursor = next_cursor(&rows, limit, |row| row.name.clone());
    Ok(web::Json(BalancePage {
        items: rows
            .into_iter()
            .map(|row| Balance {
                balance: super::format_minor(&units, &row.currency, row.balance),
                account: row.name,
                currency: row.currency,
            })
            .collect(),
        next_cursor,
    }))
}
