//! What the HTTP handlers of `routes/` stand on, apart from any one
//! resource: extracting and checking requests (`extract`, `limits`), who the
//! caller is and what they may do (`access`), the idempotent write path over
//! the write pipeline (`write`, `reply`), problem documents and their codes
//! (`problem`, `codes`), and the OpenAPI pieces operations share
//! (`openapi`). `routes/` holds the handlers and their request and response
//! types; this module holds no handler and no business rule.

pub mod access;
pub mod audit;
pub mod call;
pub mod codes;
pub mod download;
pub mod extract;
pub mod limits;
pub mod openapi;
pub mod problem;
pub mod read_only;
pub mod reply;
pub mod state;
pub mod write;

use actix_web::{HttpRequest, web};

use crate::db::DbConnection;
use crate::http::state::AppState;
use problem::ApiError;

/// The configured body limit, for error messages.
pub fn body_limit(req: &HttpRequest) -> usize {
    req.app_data::<web::Data<AppState>>()
        .map_or(0, |state| state.settings.body_limit_bytes)
}

/// Runs a read in a blocking thread.
pub async fn read<T: Send + 'static>(
    state: &web::Data<AppState>,
    work: impl FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let state = state.clone();
    web::block(move || state.db.read(work)).await?
}

/// Runs a read that must see one state of the database throughout in a
/// blocking thread ([`crate::db::Database::snapshot`]).
pub async fn snapshot<T: Send + 'static>(
    state: &web::Data<AppState>,
    work: impl FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let state = state.clone();
    web::block(move || state.db.snapshot(work)).await?
}
