//! The HTTP API: one module per resource, registered through utoipa-actix-web
//! so that the OpenAPI document is generated from the handlers themselves.

pub mod access;
pub mod accounts;
pub mod agents;
pub mod codes;
pub mod contributions;
pub mod distributions;
pub mod dto;
pub mod exchanges;
pub mod expenses;
pub mod extract;
pub mod funds;
pub mod grants;
pub mod health;
pub mod imports;
pub mod invitations;
pub mod limits;
pub mod me;
pub mod members;
pub mod metrics;
pub mod openapi;
pub mod payouts;
pub mod problem;
pub mod projects;
pub mod rates;
pub mod reply;
pub mod reports;
pub mod rule_sets;
pub mod tokens;
pub mod transactions;
pub mod value_accounts;
pub mod verification;
pub mod write;

use std::collections::HashMap;

use actix_web::HttpRequest;
use actix_web::web;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::db::DbConnection;
use crate::domain::Unit;
use crate::state::AppState;
use problem::ApiError;

/// Registers the `/v1` resources.
pub fn configure(cfg: &mut ServiceConfig) {
    tokens::configure(cfg);
    me::configure(cfg);
    value_accounts::configure(cfg);
    agents::configure(cfg);
    projects::configure(cfg);
    members::configure(cfg);
    invitations::configure(cfg);
    rates::configure(cfg);
    imports::configure(cfg);
    contributions::configure(cfg);
    accounts::configure(cfg);
    grants::configure(cfg);
    expenses::configure(cfg);
    payouts::configure(cfg);
    exchanges::configure(cfg);
    rule_sets::configure(cfg);
    distributions::configure(cfg);
    reports::configure(cfg);
    transactions::configure(cfg);
    verification::configure(cfg);
}

/// The configured body limit, for error messages.
pub fn body_limit(req: &HttpRequest) -> usize {
    req.app_data::<web::Data<AppState>>()
        .map_or(0, |state| state.settings.body_limit_bytes)
}

/// Every unit recorded so far, by code.
pub fn stored_units(conn: &mut DbConnection) -> Result<HashMap<String, Unit>, ApiError> {
    Ok(crate::db::units::stored(conn)?)
}

/// A unit as stored if it has been used, else as the currency tables say.
pub fn resolve_unit(
    units: &HashMap<String, Unit>,
    code: &str,
) -> Result<Unit, crate::domain::UnitError> {
    match units.get(code) {
        Some(unit) => Ok(unit.clone()),
        None => Unit::lookup(code),
    }
}

/// Formats minor units with the unit's stored scale.
pub fn format_minor(units: &HashMap<String, Unit>, code: &str, minor: i64) -> String {
    units
        .get(code)
        .map_or_else(|| minor.to_string(), |unit| unit.format_minor(minor))
}

/// Runs a read in a blocking thread.
pub async fn read<T: Send + 'static>(
    state: &web::Data<AppState>,
    work: impl FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let state = state.clone();
    web::block(move || state.db.read(work)).await?
}
