//! A successful write's answer, and the write pipeline HTTP writes go
//! through (what [`crate::http::state::AppState`] holds; the write path itself is
//! in [`super::write`]).

use actix_web::http::StatusCode;
use serde::Serialize;

use super::problem::ApiError;
use crate::write_pipeline::{JobError, WritePipeline};

/// The pipeline HTTP writes go through: each answers with its reply and
/// whether it was replayed from a key.
pub type Writes = WritePipeline<(Reply, bool), ApiError>;

impl JobError for ApiError {
    fn panicked() -> Self {
        ApiError::internal("a write panicked")
    }

    fn unsettled(what: &str) -> Self {
        ApiError::internal(format!("a write unsettled its connection: {what}"))
    }

    fn not_committed(why: &str) -> Self {
        ApiError::Busy(why.to_owned())
    }

    fn stopped() -> Self {
        ApiError::Unavailable
    }

    fn for_neighbour(&self) -> Self {
        match self {
            ApiError::Busy(message) => ApiError::Busy(message.clone()),
            ApiError::Unavailable => ApiError::Unavailable,
            other => ApiError::Busy(format!("a shared commit failed: {other}")),
        }
    }
}

/// The header set on a response replayed from an idempotency key.
pub const REPLAYED_HEADER: &str = "Idempotency-Replayed";

/// A successful write's status, JSON body and, for a 201, the `Location`
/// of what it made (stored with the answer under an idempotency key, so a
/// replay carries it too).
pub struct Reply {
    status: StatusCode,
    body: String,
    location: Option<String>,
}

impl Reply {
    pub fn new<T: Serialize>(status: StatusCode, body: &T) -> Result<Self, ApiError> {
        let body = serde_json::to_string(body)
            .map_err(|e| ApiError::internal_from("encoding a reply", e))?;
        Ok(Reply {
            status,
            body,
            location: None,
        })
    }

    /// A 201: `location` is the path (from `/v1`) whose `GET` answers the
    /// resource made, or, where it has no `GET` of its own, the resource
    /// that holds it (see docs/api.md, "Location").
    pub fn created<T: Serialize>(location: String, body: &T) -> Result<Self, ApiError> {
        let mut reply = Self::new(StatusCode::CREATED, body)?;
        reply.location = Some(location);
        Ok(reply)
    }

    /// A reply as stored under an idempotency key.
    pub fn stored(status: StatusCode, body: String, location: Option<String>) -> Self {
        Reply {
            status,
            body,
            location,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn body(&self) -> &str {
        &self.body
    }

    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }
}

/// The path of `rest` under project `project_id`, as a `Location`.
pub fn in_project(project_id: &str, rest: std::fmt::Arguments<'_>) -> String {
    format!("/v1/projects/{project_id}/{rest}")
}
