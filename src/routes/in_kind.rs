//! `POST /v1/projects/{project_id}/grants/{grant_id}/in-kind`: a
//! contribution's in-kind value counted toward one grant's match. A
//! contribution counts toward one grant only; the grant report lists only
//! what is allocated to that grant.

use actix_web::{HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::call::ProjectWrite;
use super::openapi::OwnersAndTreasurers;
use super::problem::{ApiError, Problem};
use super::write::Reply;
use crate::db;
use crate::db::in_kind::AllocationRow;
use crate::domain::access::Action;
use crate::ops;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_in_kind_allocation);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInKindAllocationRequest {
    /// The contribution whose value counts toward the grant's match.
    #[schema(format = Uuid, max_length = 36)]
    pub contribution: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InKindAllocation {
    #[schema(format = Uuid)]
    pub contribution: String,
    #[schema(format = Uuid)]
    pub grant: String,
    #[schema(format = Uuid)]
    pub allocated_by: String,
    #[schema(format = DateTime)]
    pub allocated_at: String,
}

fn to_allocation(row: AllocationRow) -> InKindAllocation {
    InKindAllocation {
        contribution: row.contribution_id,
        grant: row.grant_id,
        allocated_by: row.allocated_by,
        allocated_at: db::format_timestamp(row.allocated_at),
    }
}

/// Count a contribution's in-kind value toward a grant's match (owners and
/// treasurers): once, toward one grant, never in a closed period.
#[utoipa::path(
    tag = "funds",
    request_body = CreateInKindAllocationRequest,
    params(
        ("grant_id" = String, Path, format = Uuid, description = "Grant id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The allocation", body = InKindAllocation),
        OwnersAndTreasurers,
        (status = 404, description = "`project_not_found`, `grant_not_found` or `contribution_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_allocated` (the detail names the grant), `contribution_decided` (rejected), or idempotent request in flight", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`period_closed`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project_id}/grants/{grant_id}/in-kind")]
pub async fn create_in_kind_allocation(
    write: ProjectWrite<CreateInKindAllocationRequest>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let ProjectWrite { body, call } = write;
    let (_, grant) = path.into_inner();
    super::limits::check_id("contribution", &body.contribution)?;
    call.run(Action::WriteLedger, move |conn, caller, project| {
        let by = caller.signed_in()?.id.clone();
        let row = ops::in_kind::allocate(conn, project, &by, &grant, &body.contribution)?;
        Reply::created(&to_allocation(row))
    })
    .await
}
