//! `POST /v1/projects/{project_id}/exchanges`: currency exchange as one
//! transaction with two legs through exchange accounts, with the rate and
//! its source recorded. Balances never add different currencies.

use actix_web::{HttpResponse, post};
use commons_ledger_macros::operation;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::call::ProjectWrite;
use super::codes::FieldCode;
use super::dto::{Transaction, to_transaction};
use super::extract::date_field;
use super::funds;
use super::openapi::{GrantNotFound, OwnersAndTreasurers};
use super::problem::{ApiError, FieldError, Problem};
use super::write::Reply;
use crate::domain::access::Action;
use crate::http::reply::in_project;
use crate::ops::funds::NewExchange;
use crate::ops::{self, FieldProblem};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_exchange);
}

/// An amount of money.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Positive decimal string with at most the currency's decimals, at most
    /// 10^15 minor units (10,000,000,000,000.00 EUR; 10^15 JPY) and 40 characters.
    #[schema(example = "1000.00", pattern = r"^[0-9]+(\.[0-9]+)?$", max_length = 40)]
    pub amount: String,
    #[schema(example = "USD", max_length = 8)]
    pub currency: String,
}

/// Longest source of an exchange rate, in characters.
pub const EXCHANGE_SOURCE_LENGTH_MAX: usize = 500;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"sell": {"amount": "921.30", "currency": "EUR"}, "buy": {"amount": "1000.00", "currency": "USD"}, "date": "2026-04-02", "source": "bank statement 2026-04, ECB reference rate 0.9213"}))]
pub struct CreateExchangeRequest {
    /// What leaves the general pool of its currency (or the grant's pool).
    pub sell: Money,
    /// What arrives in the general pool of its currency (or the grant's pool).
    pub buy: Money,
    /// Exchange this grant's money: a restricted grant's, from its pool in
    /// the sold currency to its pool in the bought one
    /// (`pool:grant:<reference>:<currency>`), where it stays restricted to
    /// the grant's purpose; omit for the general pools.
    #[schema(format = Uuid, max_length = 36)]
    pub grant: Option<String>,
    #[schema(example = "2026-04-02", format = Date, max_length = 10)]
    pub date: String,
    /// Where the rate comes from, e.g. the bank's statement.
    #[schema(
        example = "bank statement 2026-04, ECB reference rate 0.9213",
        max_length = 500
    )]
    pub source: String,
}

/// Exchange between currencies
///
/// Exchanges money between the general pools of two currencies, or between a
/// restricted grant's pools of two currencies, where it stays restricted
/// (owners and treasurers). The rate, buy / sell, is recorded in the
/// transaction's metadata with its source.
#[operation(post "/projects/{project_id}/exchanges", tag = "funds",
    request_body = CreateExchangeRequest, signed_in,
    responses(
        201 Transaction "The exchange transaction",
        OwnersAndTreasurers,
        GrantNotFound,
        409 "`account_conflict`: an account of the pool's name exists with other flags or another currency; or idempotent request in flight",
        422 "`insufficient_funds`, `unknown_currency`, `same_currency`, `amount_precision`, ...",
    ))]
pub async fn create_exchange(
    ProjectWrite { body, call }: ProjectWrite<CreateExchangeRequest>,
) -> Result<HttpResponse, ApiError> {
    super::limits::check_optional_id("grant", body.grant.as_deref())?;
    let mut errors = Vec::new();
    let date = date_field("date", &body.date, &mut errors);
    let source = funds::text(
        "source",
        &body.source,
        EXCHANGE_SOURCE_LENGTH_MAX,
        &mut errors,
    );
    if body.sell.currency == body.buy.currency {
        errors.push(FieldError::new(
            "buy.currency",
            FieldCode::SameCurrency,
            "an exchange is between two currencies",
        ));
    }
    let exchange = NewExchange {
        sell: (body.sell.amount, body.sell.currency),
        buy: (body.buy.amount, body.buy.currency),
        date,
        source,
        grant: body.grant,
        problems: errors.into_iter().map(FieldProblem::from).collect(),
    };
    call.run(Action::WriteLedger, move |conn, caller, project| {
        let record =
            ops::funds::record_exchange(conn, (project, &caller.signed_in()?.id), &exchange)?;
        let transaction = to_transaction(&super::stored_units(conn)?, record);
        let location = in_project(&project.id, format_args!("transactions/{}", transaction.id));
        Reply::created(location, &transaction)
    })
    .await
}
