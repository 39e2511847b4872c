//! The audit trail at the HTTP edge: every request gets an id (the
//! client's `X-Request-Id` when it is plain, else one made here, echoed in
//! the response), and every write that changes a project records one event
//! in the project's log, in the same transaction as the change (see
//! `db::events`). The write extractors of [`super::call`] record it, so no
//! handler can change state unrecorded.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest};
use serde::Serialize;

use super::problem::ApiError;
use crate::db::{self, DbConnection};
use crate::domain::audit::{event_kind, request_id_is_kept};

/// The header carrying a request's id, in the request and its response.
pub const REQUEST_ID_HEADER: &str = "X-Request-Id";

/// The id of the request being served.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Gives every request its id and sends it back in `X-Request-Id` on
/// every response a handler answers (a refusal by a middleware in front of
/// the handlers, a `%00` in the path or a timeout, goes without it).
pub async fn assign_request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let sent = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|value| request_id_is_kept(value))
        .map(str::to_owned);
    let id = sent.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(response)
}

/// What a write's event says of the request itself: its id, the operation
/// (named from its method and route) and its path.
#[derive(Debug, Clone)]
pub struct Audit {
    pub request_id: String,
    pub kind: String,
    pub subject: String,
}

impl Audit {
    pub fn of(req: &HttpRequest) -> Self {
        let request_id = req
            .extensions()
            .get::<RequestId>()
            .map(|id| id.0.clone())
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let pattern = req.match_pattern().unwrap_or_else(|| req.path().to_owned());
        Audit {
            request_id,
            kind: event_kind(req.method().as_str(), &pattern),
            subject: req.path().to_owned(),
        }
    }

    /// Records the event of a write to `project_id` by `actor`: `before`
    /// and `after` are the JSON of the state replaced and made, and the
    /// ledger transactions posted after the sequence `posted_after` are
    /// named in it.
    pub fn record(
        &self,
        conn: &mut DbConnection,
        project_id: &str,
        actor: &str,
        posted_after: i64,
        (before, after): (Option<String>, Option<String>),
    ) -> Result<(), ApiError> {
        let event = db::events::NewEvent {
            kind: self.kind.clone(),
            actor_id: actor.to_owned(),
            request_id: self.request_id.clone(),
            subject: self.subject.clone(),
            before,
            after,
        };
        db::events::append(conn, project_id, posted_after, event)?;
        Ok(())
    }
}

/// A change that replaces or removes state: what it was (`before`, as
/// JSON) and what the change answers (`after`, recorded as its JSON; `()`
/// for a removal, recorded as no state).
pub struct Change<T> {
    pub before: Option<serde_json::Value>,
    pub after: T,
}

impl<T: Serialize> Change<T> {
    /// The event's states as JSON text.
    pub fn states(&self) -> Result<(Option<String>, Option<String>), ApiError> {
        let text = |value: &serde_json::Value| {
            serde_json::to_string(value).map_err(|e| ApiError::internal_from("encoding a state", e))
        };
        let before = self.before.as_ref().map(text).transpose()?;
        let after = serde_json::to_value(&self.after)
            .map_err(|e| ApiError::internal_from("encoding a state", e))?;
        let after = (!after.is_null()).then(|| text(&after)).transpose()?;
        Ok((before, after))
    }
}

/// `value` as a state an event records.
pub fn state_of<T: Serialize>(value: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(value).map_err(|e| ApiError::internal_from("encoding a state", e))
}

/// Takes the project's write lock (on PostgreSQL its row lock, so the
/// ledger's and the log's chains each have one head) and reads the ledger's
/// sequence so far: what the request posts comes after it.
pub fn begin(conn: &mut DbConnection, project_id: &str) -> Result<i64, ApiError> {
    Ok(db::projects::lock_sequence(conn, project_id)?.unwrap_or(0))
}
