//! The HTTP API: one module per resource, registered through utoipa-actix-web
//! so that the OpenAPI document is generated from the handlers themselves.

pub use crate::http::{
    access, audit, body_limit, call, codes, extract, limits, openapi, problem, read, reply,
    snapshot, write,
};

pub mod accounts;
pub mod agents;
pub mod claims;
pub mod closings;
pub mod contributions;
pub mod contributors;
pub mod distributions;
pub mod dto;
pub mod events;
pub mod exchanges;
pub mod expenses;
pub mod funds;
pub mod grants;
pub mod health;
pub mod imports;
pub mod in_kind;
pub mod invitations;
pub mod me;
pub mod members;
pub mod metrics;
pub mod payouts;
pub mod projects;
pub mod rates;
pub mod releases;
pub mod reports;
pub mod rule_sets;
pub mod signing_key;
pub mod tokens;
pub mod transaction_batches;
pub mod transactions;
pub mod value_accounts;
pub mod verification;

use std::collections::HashMap;

use utoipa_actix_web::service_config::ServiceConfig;

use crate::db::DbConnection;
use crate::domain::Unit;
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
    contributors::configure(cfg);
    accounts::configure(cfg);
    grants::configure(cfg);
    releases::configure(cfg);
    expenses::configure(cfg);
    payouts::configure(cfg);
    exchanges::configure(cfg);
    rule_sets::configure(cfg);
    distributions::configure(cfg);
    reports::configure(cfg);
    transaction_batches::configure(cfg);
    transactions::configure(cfg);
    verification::configure(cfg);
    claims::configure(cfg);
    closings::configure(cfg);
    in_kind::configure(cfg);
    events::configure(cfg);
    signing_key::configure(cfg);
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
