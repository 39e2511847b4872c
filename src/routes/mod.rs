//! The HTTP API: one module per resource, registered through utoipa-actix-web
//! so that the OpenAPI document is generated from the handlers themselves.

pub mod access;
pub mod accounts;
pub mod agents;
pub mod contributions;
pub mod distributions;
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
pub mod payouts;
pub mod problem;
pub mod projects;
pub mod rates;
pub mod reports;
pub mod rule_sets;
pub mod tokens;
pub mod transactions;
pub mod value_accounts;
pub mod verification;
pub mod write;

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::web;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::TokenKeys;
use crate::auth::rate_limit::LoginLimiter;
use crate::config::RuntimeSettings;
use crate::db::{Database, DbConnection};
use crate::domain::Unit;
use problem::ApiError;

/// What every handler can reach.
pub struct AppState {
    pub db: Arc<Database>,
    pub settings: RuntimeSettings,
    pub keys: TokenKeys,
    pub login_limiter: LoginLimiter,
    /// Where every password hash runs (bounded in number and memory).
    pub hashers: Arc<crate::auth::hashers::Hashers>,
    pub metrics: crate::metrics::Metrics,
    /// Where write requests go to share a database transaction.
    pub writes: write::Writes,
}

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

/// Every unit recorded so far, by code (a small table).
pub fn stored_units(conn: &mut DbConnection) -> Result<HashMap<String, Unit>, ApiError> {
    use crate::db::schema::units;
    use diesel::prelude::*;
    let rows: Vec<(String, i32, String)> = units::table
        .select((units::code, units::scale, units::kind))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(code, scale, kind)| {
            let unit = Unit::from_stored(
                code.clone(),
                u32::try_from(scale).unwrap_or(0),
                crate::domain::UnitKind::parse(&kind).unwrap_or(crate::domain::UnitKind::Currency),
            );
            (code, unit)
        })
        .collect())
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
