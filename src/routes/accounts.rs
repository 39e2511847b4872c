//! `/v1/projects/{project_id}/accounts` and `/balances`: the accounts of a
//! project's ledger, each holding one unit, and their balances.

use actix_web::{HttpResponse, get, post, web};
use commons_ledger_macros::operation;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::call::{Page, ProjectCall, ProjectPage, ProjectWrite, Units};
use super::codes::{FieldCode, Resource};
use super::dto::{PageQuery, page_type};
use super::extract::{CursorKey, account_name, decode_cursor};
use super::limits::{UNIT_CODE_LENGTH_MAX, check_query};
use super::openapi::Forbidden;
use super::problem::{ApiError, FieldError, Problem};
use super::write::Reply;
use crate::db::accounts::{AccountRow, Holding};
use crate::db::{self, OnDuplicate};
use crate::domain::access::Action;
use crate::domain::{AccountName, managed};
use crate::http::reply::in_project;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_account)
        .service(list_accounts)
        .service(get_account)
        .service(list_balances);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "reserve", "currency": "EUR", "non_negative": true}))]
pub struct CreateAccountRequest {
    /// Colon-separated name, e.g. `pool:general` or `pool:grant:FH-2026-017`.
    #[schema(example = "pool:general", max_length = 200)]
    pub name: String,
    /// The one unit the account holds: an ISO 4217 code or a declared unit (`HOUR`).
    #[schema(example = "EUR", max_length = 8)]
    pub currency: String,
    /// Whether the balance may never go below zero. Default: false, except
    /// under the managed prefixes, whose accounts always carry the flag their
    /// operations need: `pool:` and `contributor:` accounts are non-negative,
    /// `funder:`, `expense:`, `payout:` and `exchange:` ones are not; asking
    /// the other is 422 `managed_account`.
    #[serde(default)]
    pub non_negative: Option<bool>,
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
    /// What approved distribution runs reserve of the balance until they
    /// are executed or cancelled (zero but for pools).
    #[schema(example = "30.00")]
    pub reserved: String,
    /// The balance less what is reserved: what may leave the account.
    #[schema(example = "70.00")]
    pub available: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

page_type!(AccountPage, Account);

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Balance {
    pub account: String,
    pub currency: String,
    #[schema(example = "100.00")]
    pub balance: String,
    /// What approved distribution runs reserve of the balance.
    #[schema(example = "30.00")]
    pub reserved: String,
    /// The balance less what is reserved.
    #[schema(example = "70.00")]
    pub available: String,
}

page_type!(BalancePage, Balance);

/// A list of accounts' filter (besides its page, [`PageQuery`]).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    /// Only accounts of this unit.
    #[param(max_length = 8)]
    pub currency: Option<String>,
}

/// A holding's balance, what is reserved of it and what is available, in
/// its unit `currency`: the three amounts an account, a balance and a
/// grant's other pools each show.
pub fn holding_amounts(units: &Units, currency: &str, holding: Holding) -> [String; 3] {
    let money = |minor: i64| super::format_minor(units, currency, minor);
    [
        money(holding.balance),
        money(holding.reserved),
        money(holding.available()),
    ]
}

fn to_account(units: &Units, row: AccountRow, holding: Holding) -> Account {
    let [balance, reserved, available] = holding_amounts(units, &row.currency, holding);
    Account {
        balance,
        reserved,
        available,
        id: row.id,
        name: row.name,
        currency: row.currency,
        non_negative: row.non_negative,
        created_at: db::format_timestamp(row.created_at),
    }
}

/// Open an account
///
/// Opens an account in a project's ledger (owners and treasurers). A name is
/// colon-separated segments of letters, digits, '.', '_' and '-'; an account
/// under a managed prefix (`pool`, `funder`, `contributor`, `expense`,
/// `payout`, `exchange`) takes the flag and currency its operations need.
#[operation(post "/projects/{project_id}/accounts", tag = "accounts",
    request_body = CreateAccountRequest, signed_in,
    responses(
        201 Account "The account, with a zero balance",
        Forbidden,
        409 "`account_exists`, or idempotent request in flight",
        422 "`invalid_account_name`, `unknown_currency`, `managed_account` (a managed name with a flag or currency its operations cannot use), `idempotency_key_reused`",
    ))]
pub async fn create_account(
    ProjectWrite { body, call }: ProjectWrite<CreateAccountRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    let name = account_name("name", &body.name, &mut errors);
    let code = body.currency;
    let non_negative = managed_flag(name.as_ref(), body.non_negative, &mut errors);
    call.run(Action::WriteLedger, move |conn, _, project| {
        let units = super::stored_units(conn)?;
        let unit = super::resolve_unit(&units, &code)
            .map_err(|e| errors.push(FieldError::new("currency", FieldCode::UnknownCurrency, e)))
            .ok();
        if let (Some(name), Some(unit)) = (&name, &unit) {
            managed_currency(name, unit.code(), &project.currency, &mut errors);
        }
        let (Some(name), Some(unit), true) = (name, unit, errors.is_empty()) else {
            return Err(ApiError::Validation(errors));
        };
        if db::accounts::find(conn, &project.id, name.as_str())?.is_some() {
            return Err(ApiError::AccountExists(name.to_string()));
        }
        let unit = db::projects::ensure_unit(conn, &unit)?;
        // A concurrent request may have created the same account first.
        let row = db::accounts::insert(conn, &project.id, &name, unit.code(), non_negative)
            .on_duplicate(|| ApiError::AccountExists(name.to_string()))?;
        let units = super::stored_units(conn)?;
        let holding = Holding {
            balance: row.balance,
            reserved: 0,
        };
        let account = to_account(&units, row, holding);
        let location = in_project(&project.id, format_args!("accounts/{}", account.name));
        Reply::created(location, &account)
    })
    .await
}

/// The non-negative flag of a new account: the one its managed prefix
/// needs (asking the other is `managed_account`), else as asked (default
/// false).
fn managed_flag(
    name: Option<&AccountName>,
    asked: Option<bool>,
    errors: &mut Vec<FieldError>,
) -> bool {
    let required = name.and_then(|name| managed::required_non_negative(name.as_str()));
    match (required, asked) {
        (Some(required), Some(asked)) if required != asked => {
            errors.push(FieldError::new(
                "non_negative",
                FieldCode::ManagedAccount,
                format!(
                    "`{}` is a managed name: its operations need `non_negative` {required}",
                    name.map_or("", AccountName::as_str)
                ),
            ));
            asked
        }
        (Some(required), _) => required,
        (None, asked) => asked.unwrap_or(false),
    }
}

/// A managed name that fixes its currency (`pool:general`,
/// `pool:general:<code>`, `exchange:<code>`) is opened in that currency only.
fn managed_currency(
    name: &AccountName,
    currency: &str,
    project_currency: &str,
    errors: &mut Vec<FieldError>,
) {
    if let Some(required) = managed::required_currency(name.as_str(), project_currency)
        && required != currency
    {
        errors.push(FieldError::new(
            "currency",
            FieldCode::ManagedAccount,
            format!("`{name}` is a managed name: it holds {required}"),
        ));
    }
}

/// List accounts
///
/// A project's accounts by name, with their balance, reserved and available
/// amounts; `currency` keeps one currency's.
#[operation(get "/projects/{project_id}/accounts", tag = "accounts", public,
    params(PageQuery, AccountQuery), responses(200 AccountPage "A page of accounts"))]
pub async fn list_accounts(
    page: ProjectPage,
    query: web::Query<AccountQuery>,
) -> Result<web::Json<AccountPage>, ApiError> {
    let page = accounts_page(page, query.into_inner(), to_account, |a| &a.name).await?;
    Ok(web::Json(page.into()))
}

/// A page of a project's accounts by name (of one unit with `currency`),
/// each made into `T` by `item`; `name` is the account's name in a `T`.
async fn accounts_page<T: Send + 'static>(
    page: ProjectPage,
    AccountQuery { currency }: AccountQuery,
    item: fn(&Units, AccountRow, Holding) -> T,
    name: fn(&T) -> &str,
) -> Result<Page<T>, ApiError> {
    let page = page.check(|cursor| decode_cursor(cursor, CursorKey::AccountName))?;
    check_query("currency", currency.as_deref(), UNIT_CODE_LENGTH_MAX)?;
    let fetch = move |conn: &mut db::DbConnection,
                      project: &db::projects::Project,
                      after: Option<String>,
                      limit| {
        let rows = db::accounts::list(
            conn,
            &project.id,
            currency.as_deref(),
            after.as_deref(),
            limit,
        )?;
        let units = super::stored_units(conn)?;
        let holdings = db::accounts::holdings(conn, &rows)?;
        Ok(rows
            .into_iter()
            .zip(holdings)
            .map(|(row, holding)| item(&units, row, holding))
            .collect())
    };
    page.read(Action::ReadLedger, fetch, |t| name(t).to_owned())
        .await
}

/// Get an account
///
/// One account and its balance, read from a stored column: its cost does not
/// grow with the ledger.
#[operation(get "/projects/{project_id}/accounts/{account_name}", tag = "accounts", public,
    params(("account_name" = String, Path, description = "Account name, e.g. `pool:general`")),
    responses(200 Account "The account", 404 "`project_not_found` or `account_not_found`"))]
pub async fn get_account(
    call: ProjectCall,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Account>, ApiError> {
    call.read_item(path, |conn, project, account_name: String| {
        let row = db::accounts::find(conn, &project.id, &account_name)?
            .ok_or(ApiError::NotFound(Resource::Account))?;
        let holding = db::accounts::holdings(conn, std::slice::from_ref(&row))?;
        let holding = holding
            .first()
            .copied()
            .ok_or(ApiError::NotFound(Resource::Account))?;
        Ok(to_account(&super::stored_units(conn)?, row, holding))
    })
    .await
}

/// List balances
///
/// The balances of a project's accounts, by account name; `currency` keeps one
/// currency's.
#[operation(get "/projects/{project_id}/balances", tag = "accounts", public,
    params(PageQuery, AccountQuery), responses(200 BalancePage "A page of balances"))]
pub async fn list_balances(
    page: ProjectPage,
    query: web::Query<AccountQuery>,
) -> Result<web::Json<BalancePage>, ApiError> {
    let page = accounts_page(page, query.into_inner(), to_balance, |b| &b.account).await?;
    Ok(web::Json(page.into()))
}

fn to_balance(units: &Units, row: AccountRow, holding: Holding) -> Balance {
    let [balance, reserved, available] = holding_amounts(units, &row.currency, holding);
    Balance {
        balance,
        reserved,
        available,
        account: row.name,
        currency: row.currency,
    }
}
