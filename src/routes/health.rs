//! Liveness and readiness probes.

use actix_web::{HttpResponse, get, web};
use commons_ledger_macros::operation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::problem::{ApiError, Problem};
use crate::http::state::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` when healthy.
    pub status: String,
}

/// Liveness probe
///
/// Answers 200 while the process runs, without touching the database: for an
/// orchestrator's liveness probe. Public.
#[operation(get "/healthz", tag = "health", security(()), responses(200 Health "Alive"))]
pub async fn get_health() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".to_owned(),
    })
}

/// Readiness probe
///
/// Answers 200 when the process can reach its database and 503
/// `service_unavailable` when it cannot: for a load balancer's readiness probe.
/// Public.
#[operation(get "/readyz", tag = "health", security(()),
    responses(
        200 Health "Ready",
        503 "`service_unavailable`: the database cannot be reached; or `request_timeout`",
    ))]
pub async fn get_readiness(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let state = state.clone();
    web::block(move || state.db.ping().map_err(|_| ApiError::Unavailable)).await??;
    Ok(HttpResponse::Ok().json(Health {
        status: "ok".to_owned(),
    }))
}
