//! `/v1/projects/{project_id}/grants/{grant_id}/in-kind`: a contribution's
//! in-kind value counted toward one grant's match, and the list of what is.
//! A contribution counts toward one grant only; the grant report lists only
//! what is allocated to that grant.

use actix_web::{HttpResponse, get, post, web};
use commons_ledger_macros::operation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::call::{ItemWrite, ProjectPage};
use super::dto::PageQuery;
use super::dto::page_type;
use super::grants::{GrantItems, grant_page};
use super::openapi::{GrantNotFound, OwnersAndTreasurers};
use super::problem::{ApiError, Problem};
use crate::db;
use crate::db::in_kind::AllocationRow;
use crate::domain::access::Action;
use crate::http::reply::in_project;
use crate::ops;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_in_kind_allocation)
        .service(list_in_kind_allocations);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"contribution": "5a1b2c3d-4e5f-4a6b-9c8d-7e6f5a4b3c2d"}))]
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

page_type!(InKindAllocationPage, InKindAllocation);

fn to_allocation(row: AllocationRow) -> InKindAllocation {
    InKindAllocation {
        contribution: row.contribution_id,
        grant: row.grant_id,
        allocated_by: row.allocated_by,
        allocated_at: db::format_timestamp(row.allocated_at),
    }
}

/// Allocate in-kind value to a grant
///
/// Counts a contribution's in-kind value toward a grant's match (owners and
/// treasurers): once, toward one grant, never in a closed period.
#[operation(post "/projects/{project_id}/grants/{grant_id}/in-kind", tag = "funds",
    request_body = CreateInKindAllocationRequest, signed_in, params(id "grant_id" "Grant id"),
    responses(
        201 InKindAllocation "The allocation",
        OwnersAndTreasurers,
        404 "`project_not_found`, `grant_not_found` or `contribution_not_found`",
        409 "`already_allocated` (the detail names the grant), `contribution_decided` (rejected), or idempotent request in flight",
        422 "`period_closed`",
    ))]
pub async fn create_in_kind_allocation(
    ItemWrite {
        body,
        call,
        id: grant,
    }: ItemWrite<CreateInKindAllocationRequest>,
) -> Result<HttpResponse, ApiError> {
    super::limits::check_id("contribution", &body.contribution)?;
    super::funds::created_by(call, Action::WriteLedger, move |conn, project, by| {
        let row = ops::in_kind::allocate(conn, project, by, &grant, &body.contribution)?;
        let allocation = to_allocation(row);
        // An allocation has no `GET` of its own: its grant's list holds it.
        let location = in_project(
            &project.id,
            format_args!("grants/{}/in-kind", allocation.grant),
        );
        Ok((location, allocation))
    })
    .await
}

/// List a grant's in-kind allocations
///
/// What is allocated to a grant's match, by contribution, oldest first: whoever
/// may read the ledger.
#[operation(get "/projects/{project_id}/grants/{grant_id}/in-kind", tag = "funds", public,
    params(id "grant_id" "Grant id", PageQuery),
    responses(200 InKindAllocationPage "A page of the grant's allocations", GrantNotFound))]
pub async fn list_in_kind_allocations(
    page: ProjectPage,
    path: web::Path<(String, String)>,
) -> Result<web::Json<InKindAllocationPage>, ApiError> {
    let fetch: GrantItems<_> = |conn, project, grant, after, limit| {
        let rows = db::in_kind::list_for_grant(conn, &project.id, &grant.id, after, limit)?;
        Ok(rows.into_iter().map(to_allocation).collect())
    };
    let page = grant_page(page, path, fetch, |a| a.contribution.clone()).await?;
    Ok(web::Json(page.into()))
}
