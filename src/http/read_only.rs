//! A read-only instance (`serve --read-only`) serves reads from a database
//! it never writes, such as a PostgreSQL streaming replica: every request
//! that could write is answered 503 `read_only_instance` here, before it
//! reaches a handler or the database. Reads, reports, exports and signing
//! in (which writes nothing) are served.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web;

use super::problem::ApiError;
use super::state::AppState;

/// Whether a read-only instance serves this request: the safe methods, and
/// signing in and out (the API's token, the pages' session cookie), which
/// write nothing.
pub fn served_read_only(method: &Method, path: &str) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        || (*method == Method::POST && matches!(path, "/v1/auth/token" | "/sign-in" | "/sign-out"))
}

/// Refuses, on a read-only instance, every request [`served_read_only`]
/// does not serve.
pub async fn refuse_writes(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let read_only = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.settings.read_only);
    if read_only && !served_read_only(req.method(), req.path()) {
        return Err(ApiError::ReadOnly.into());
    }
    next.call(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reads_and_signing_in_are_served() {
        assert!(served_read_only(&Method::GET, "/v1/projects"));
        assert!(served_read_only(&Method::HEAD, "/healthz"));
        assert!(served_read_only(&Method::POST, "/v1/auth/token"));
        assert!(served_read_only(&Method::POST, "/sign-in"));
        assert!(served_read_only(&Method::POST, "/sign-out"));
        assert!(!served_read_only(&Method::POST, "/v1/auth/token/"));
        assert!(!served_read_only(
            &Method::POST,
            "/projects/x/contributions"
        ));
        assert!(!served_read_only(&Method::POST, "/v1/projects"));
        assert!(!served_read_only(&Method::PATCH, "/v1/projects/x"));
        assert!(!served_read_only(
            &Method::DELETE,
            "/v1/projects/x/members/y"
        ));
        assert!(!served_read_only(&Method::PUT, "/v1/projects/x"));
    }
}
