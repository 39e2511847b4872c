//! `POST /v1/auth/token`: exchange an email and password for an access
//! token; `DELETE /v1/auth/token`: sign out, revoking the token sent.

use commons_ledger_macros::operation;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, ResponseError, delete, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::call::SignedIn;
use super::extract::JsonBody;
use super::problem::{ApiError, Problem};
use crate::auth::rate_limit::{Allowance, Refusal};
use crate::db;
use crate::http::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_token).service(revoke_token);
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "treasurer@openair-lyon.org", "password": "correct horse battery staple"}))]
pub struct CreateTokenRequest {
    #[schema(example = "treasurer@openair-lyon.org", max_length = 254)]
    pub email: String,
    #[schema(format = Password, write_only, max_length = 1024)]
    pub password: String,
}

impl CreateTokenRequest {
    /// Refuses an email or a password longer than any this service stores
    /// (422 `too_long`): the length of a text is no secret, so this tells
    /// nothing about who has an account.
    fn check_lengths(&self) -> Result<(), ApiError> {
        use super::limits::{EMAIL_LENGTH_MAX, check_length};
        use crate::domain::agent::PASSWORD_LENGTH_MAX;
        let mut errors = Vec::new();
        check_length("email", &self.email, EMAIL_LENGTH_MAX, &mut errors);
        check_length("password", &self.password, PASSWORD_LENGTH_MAX, &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(errors))
        }
    }
}

/// Always `Bearer`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub enum TokenType {
    Bearer,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Token {
    /// A JWT to send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    pub token_type: TokenType,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

/// Sign in
///
/// Exchanges an email and a password for a bearer token (JWT, `expires_in`
/// seconds). Attempts are limited per account, per client address and for the
/// whole instance, and only a few passwords are verified at once; a wrong email
/// or password gets the same answer, in the same time. The request is safe to
/// repeat, so `Idempotency-Key` is accepted and not needed: no token is ever
/// stored. The `RateLimit-*` headers tell how many attempts remain.
#[operation(post "/auth/token", tag = "auth", request_body = CreateTokenRequest, security(()),
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255, pattern = "^[!-~]+$", description = "Accepted; signing in is naturally safe to repeat")),
    responses(
        (status = 200, description = "An access token", body = Token, headers( ("RateLimit-Limit" = u32, description = "Sign-in attempts allowed per minute by the tighter of the caller's limits (its account's, its address's)"), ("RateLimit-Remaining" = u32, description = "Attempts left of that limit after this one"), ("RateLimit-Reset" = u32, description = "Seconds until every attempt of that limit is allowed again"), )),
        401 "`invalid_credentials`",
        422 "Invalid body",
        (status = 429, description = "`too_many_attempts`; see `Retry-After`", body = Problem, content_type = "application/problem+json", headers( ("RateLimit-Limit" = u32, description = "Sign-in attempts allowed per minute by the limit reached (the account's or the address's)"), ("RateLimit-Remaining" = u32, description = "0: none is left"), ("RateLimit-Reset" = u32, description = "Seconds until the next attempt is allowed, as `Retry-After`"), )),
        503 "`sign_in_busy`: every password hasher is taken or the instance's sign-ins per minute are used up; see `Retry-After`; or `request_timeout`, `database_busy`, `service_unavailable`",
    ))]
pub async fn create_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<CreateTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.value;
    request.check_lengths()?;
    let email = request.email.trim().to_lowercase();
    let address = req.peer_addr().map(|address| address.ip());
    let allowance = match state.login_limiter.check(&email, address) {
        Ok(allowance) => allowance,
        Err(Refusal::TooManyAttempts(wait, limit)) => {
            let seconds = retry_after_s(wait);
            let refused = ApiError::TooManyAttempts(seconds).error_response();
            let allowance = Allowance {
                limit,
                remaining: 0,
                reset: Duration::from_secs(seconds),
            };
            return Ok(with_rate_limit(refused, allowance));
        }
        Err(Refusal::InstanceBusy(wait)) => return Err(ApiError::SignInBusy(retry_after_s(wait))),
    };
    let agent = super::read(&state, move |conn| {
        Ok(db::agents::find_by_email(conn, &email)?)
    })
    .await?;
    let stored = agent.as_ref().and_then(|agent| agent.password_hash.clone());
    if !state.hashers.verify(stored, request.password).await? {
        return Err(ApiError::InvalidCredentials);
    }
    let agent = agent.ok_or(ApiError::InvalidCredentials)?;
    let token = Token {
        access_token: state.keys.issue(&agent.id, agent.token_version)?,
        token_type: TokenType::Bearer,
        expires_in: state.keys.lifetime_s(),
    };
    Ok(with_rate_limit(HttpResponse::Ok().json(token), allowance))
}

/// Sign out
///
/// Revokes the token this request carries, until it expires: from then on
/// it is refused (401 `token_revoked`) by every instance sharing the
/// database, while the agent's other tokens keep working. Signing out of a
/// page session does this. Only the token sent can be revoked, so no one
/// signs out anyone else. A token of an external provider, or one issued
/// before tokens had an id, is refused with 422 `token_not_revocable`.
#[operation(delete "/auth/token", tag = "auth", signed_in,
    responses(
        (status = 204, description = "Signed out: the token is revoked"),
        422 "`token_not_revocable`",
    ))]
pub async fn revoke_token(signed_in: SignedIn) -> Result<HttpResponse, ApiError> {
    let claims = signed_in.credentials.0.clone();
    let (token_id, expires) = match &claims {
        Some(claims) if !claims.external => (claims.jti.clone(), claims.exp),
        _ => (None, 0),
    };
    let token_id = token_id.ok_or(ApiError::TokenNotRevocable)?;
    let expires_at = i64::try_from(expires)
        .ok()
        .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, 0))
        .ok_or(ApiError::TokenNotRevocable)?
        .naive_utc();
    signed_in
        .write(move |conn, me| {
            db::agents::revoke_token(conn, &me.id, &token_id, expires_at)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `response` with the caller's sign-in allowance in the IETF `RateLimit-*`
/// fields (docs/api.md, "Rate limits").
fn with_rate_limit(mut response: HttpResponse, allowance: Allowance) -> HttpResponse {
    let reset_s = allowance.reset.as_millis().div_ceil(1000);
    let headers = response.headers_mut();
    for (name, value) in [
        ("ratelimit-limit", u128::from(allowance.limit)),
        ("ratelimit-remaining", u128::from(allowance.remaining)),
        ("ratelimit-reset", reset_s),
    ] {
        headers.insert(
            actix_web::http::header::HeaderName::from_static(name),
            actix_web::http::header::HeaderValue::from(u64::try_from(value).unwrap_or(u64::MAX)),
        );
    }
    response
}

/// Whole seconds to wait (at least 1, at most an hour) for `Retry-After`.
fn retry_after_s(wait: std::time::Duration) -> u64 {
    u64::try_from(wait.as_millis().div_ceil(1000))
        .unwrap_or(u64::MAX)
        .clamp(1, 3600)
}
