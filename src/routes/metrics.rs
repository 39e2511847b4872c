//! `/metrics` in the Prometheus (OpenMetrics) text format, and the
//! middleware that measures every request and bounds its time.
//!
//! Routes are labelled by their pattern (`/v1/projects/{project_id}/accounts`),
//! never by the concrete path, so the number of series stays bounded.

use commons_ledger_macros::operation;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, get, web};

use super::problem::ApiError;
use crate::http::state::AppState;

/// Counts and times every request, and answers 503 `request_timeout` when
/// a request runs past `--request-timeout-s` (what it started in the
/// database still completes or rolls back on its own: a retry with the same
/// `Idempotency-Key` is safe).
pub async fn measure(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let Some(state) = state else {
        return next.call(req).await;
    };
    let method = req.method().to_string();
    let limit = state.settings.request_timeout;
    match actix_web::rt::time::timeout(limit, next.call(req)).await {
        Ok(Ok(response)) => {
            let route = response
                .request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_owned());
            state.metrics.observe(
                &method,
                &route,
                response.status().as_u16(),
                started.elapsed(),
            );
            Ok(response)
        }
        Ok(Err(error)) => Err(error),
        Err(_) => {
            state.metrics.timed_out();
            // The request was handed on, so its route is not known here.
            state
                .metrics
                .observe(&method, "timed_out", 503, started.elapsed());
            Err(ApiError::RequestTimeout(limit.as_secs()).into())
        }
    }
}

/// Prometheus metrics of this instance
///
/// Request counts and latencies by route and status, database pool use,
/// idempotency replays, group-commit batch sizes and timed-out requests, in the
/// OpenMetrics text format. Public, like the probes: expose it only on a
/// network the operators trust (docs/security.md).
#[operation(get "/metrics", tag = "health", security(()),
    responses(
        (status = 200, description = "OpenMetrics text exposition", content_type = "application/openmetrics-text", body = String),
    ))]
pub async fn get_metrics(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.db.pool_state();
    match state.metrics.render(pool) {
        Ok(text) => HttpResponse::Ok()
            .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(text),
        Err(_) => ApiError::internal("metrics encoding failed").error_response(),
    }
}
