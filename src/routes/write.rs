//! The write path shared by every POST: one database transaction for the
//! effect, with the `Idempotency-Key` claimed before it and its response
//! stored in the same transaction as the effect.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::AppState;
use super::problem::{ApiError, PROBLEM_CONTENT_TYPE};
use crate::db::{DbConnection, idempotency};

/// The header set on a response replayed from an idempotency key.
pub const REPLAYED_HEADER: &str = "Idempotency-Replayed";

/// A successful write's status and JSON body.
pub struct Reply {
    status: StatusCode,
    body: String,
}

impl Reply {
    pub fn new<T: Serialize>(status: StatusCode, body: &T) -> Result<Self, ApiError> {
        let body = serde_json::to_string(body).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(Reply { status, body })
    }

    pub fn created<T: Serialize>(body: &T) -> Result<Self, ApiError> {
        Self::new(StatusCode::CREATED, body)
    }
}

/// Runs `work` in one database transaction and answers with its reply.
/// `work` is cloned for each attempt: a transient database failure (see
/// [`crate::db::Database::write`]) runs it again from the start.
///
/// With an idempotency key: the key is claimed first (its own short
/// transaction); a completed key replays its stored response, a key used with
/// another request is refused, a key still in flight is a conflict. The reply
/// is stored with the effect. A refusal (4xx) is stored too, so a retry fails
/// the same way; a fault (5xx) releases the key so that a retry can run.
pub async fn run(
    state: &web::Data<AppState>,
    scope: String,
    key: Option<String>,
    fingerprint: String,
    work: impl FnOnce(&mut DbConnection) -> Result<Reply, ApiError> + Clone + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    run_keyed(state, scope, key, fingerprint, true, work).await
}

/// Like [`run`], for a key derived from the request's content rather than
/// chosen by the client (an uploaded file's hash): a success is replayed,
/// but a refusal is not stored, so the same file may be sent again once
/// what refused it (a missing rate, say) has been put right.
pub async fn run_content_keyed(
    state: &web::Data<AppState>,
    scope: String,
    key: String,
    fingerprint: String,
    work: impl FnOnce(&mut DbConnection) -> Result<Reply, ApiError> + Clone + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    run_keyed(state, scope, Some(key), fingerprint, false, work).await
}

async fn run_keyed(
    state: &web::Data<AppState>,
    scope: String,
    key: Option<String>,
    fingerprint: String,
    store_refusals: bool,
    work: impl FnOnce(&mut DbConnection) -> Result<Reply, ApiError> + Clone + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    let state = state.clone();
    let (reply, replayed) = web::block(move || -> Result<(Reply, bool), ApiError> {
        let db = &state.db;
        let Some(key) = key else {
            // A copy per attempt: the database may ask for the work again.
            return db
                .write(|conn| work.clone()(conn))
                .map(|reply| (reply, false));
        };
        let lease = state.settings.idempotency_lease;
        let claim = db.write(|conn| -> Result<_, ApiError> {
            Ok(idempotency::claim(conn, &scope, &key, &fingerprint, lease)?)
        })?;
        let token = match claim {
            idempotency::Claim::Acquired { token } => token,
            idempotency::Claim::Replay { status, body } => {
                state.metrics.idempotency_replayed();
                let status =
                    StatusCode::from_u16(status).map_err(|e| ApiError::Internal(e.to_string()))?;
                return Ok((Reply { status, body }, true));
            }
            idempotency::Claim::InFlight => {
                state.metrics.idempotency_conflict();
                return Err(ApiError::IdempotencyInFlight);
            }
            idempotency::Claim::Mismatch => {
                state.metrics.idempotency_conflict();
                return Err(ApiError::IdempotencyKeyReused);
            }
        };
        let outcome = db.write(|conn| {
            let reply = work.clone()(conn)?;
            if !idempotency::complete(
                conn,
                &scope,
                &key,
                &token,
                reply.status.as_u16(),
                &reply.body,
            )? {
                // Our lease ran out and another request took the key over.
                return Err(ApiError::IdempotencyInFlight);
            }
            Ok(reply)
        });
        match outcome {
            Ok(reply) => Ok((reply, false)),
            Err(error) if store_refusals && error_is_final(&error) => {
                let problem = serde_json::to_string(&error.problem())
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
                let status = actix_web::ResponseError::status_code(&error).as_u16();
                db.write(|conn| -> Result<bool, ApiError> {
                    Ok(idempotency::complete(
                        conn, &scope, &key, &token, status, &problem,
                    )?)
                })?;
                Err(error)
            }
            Err(error) => {
                if let Err(release_error) = db.write(|conn| -> Result<(), ApiError> {
                    Ok(idempotency::release(conn, &scope, &key, &token)?)
                }) {
                    tracing::warn!(error = %release_error, "could not release an idempotency key");
                }
                Err(error)
            }
        }
    })
    .await??;
    Ok(respond(&reply, replayed))
}

/// Whether a failed request's answer is stored against its key: refusals
/// are (the same request keeps failing the same way); faults, conflicts over
/// the key itself and authentication failures (the caller may sign in again
/// and retry) are not.
fn error_is_final(error: &ApiError) -> bool {
    let status = actix_web::ResponseError::status_code(error);
    status.is_client_error()
        && !matches!(
            error,
            ApiError::IdempotencyInFlight
                | ApiError::Unauthorized(_)
                | ApiError::TooManyAttempts(_)
        )
}

fn respond(reply: &Reply, replayed: bool) -> HttpResponse {
    let content_type = if reply.status.is_success() {
        "application/json"
    } else {
        PROBLEM_CONTENT_TYPE
    };
    let mut response = HttpResponse::build(reply.status);
    response.content_type(content_type);
    if replayed {
        response.insert_header((REPLAYED_HEADER, "true"));
    }
    response.body(reply.body.clone())
}
