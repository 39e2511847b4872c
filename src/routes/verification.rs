//! `GET /v1/projects/{project_id}/ledger/verification`: the hash chain and
//! every balance recomputed from the stored rows.

use actix_web::{get, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::codes::Resource;
use super::openapi::{ProjectNotFound, Unauthenticated};
use super::problem::ApiError;
use super::{access, read};
use crate::auth::Credentials;
use crate::db::verification::{self, Verification};
use crate::domain::access::Action;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_ledger_verification);
}

/// Recompute the project's hash chain and every balance from the stored
/// transactions and postings, and report the first discrepancy. 200 either
/// way: `ok` says whether the ledger verifies.
#[utoipa::path(
    tag = "ledger",
    operation_id = "get_ledger_verification",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The verification report", body = Verification),
        Unauthenticated, ProjectNotFound,
    )
)]
#[get("/projects/{project_id}/ledger/verification")]
pub async fn get_ledger_verification(
    state: web::Data<AppState>,
    credentials: Credentials,
    path: web::Path<String>,
) -> Result<web::Json<Verification>, ApiError> {
    let project_id = path.into_inner();
    let project = read(&state, move |conn| {
        Ok(access::project_for(conn, &credentials, &project_id, Action::ReadLedger)?.1)
    })
    .await?;
    // Its own read transaction: the snapshot must begin with the verification.
    let report = read(&state, move |conn| {
        verification::verify(conn, &project.id)?.ok_or(ApiError::NotFound(Resource::Project))
    })
    .await?;
    Ok(web::Json(report))
}
