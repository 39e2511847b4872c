//! `GET /v1/me`: the caller and their memberships.

use actix_web::{get, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::access::Caller;
use super::codes::Resource;
use super::dto::{Agent, RoleDto, to_agent};
use super::problem::ApiError;
use super::read;
use crate::auth::Authenticated;
use crate::db;
use crate::domain::access::Role;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_me);
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Membership {
    #[schema(format = Uuid)]
    pub project_id: String,
    pub project_name: String,
    pub role: RoleDto,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub agent: Agent,
    pub memberships: Vec<Membership>,
}

/// The caller and the projects they belong to.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = Me),
    )
)]
#[get("/me")]
pub async fn get_me(
    state: web::Data<AppState>,
    Authenticated(credentials): Authenticated,
) -> Result<web::Json<Me>, ApiError> {
    let me = read(&state, move |conn| {
        let agent = Caller::require(conn, &credentials)?;
        let mut memberships = Vec::new();
        for row in db::memberships::of_agent(conn, &agent.id)? {
            let project = db::projects::find(conn, &row.project_id)?
                .ok_or(ApiError::NotFound(Resource::Project))?;
            memberships.push(Membership {
                project_id: row.project_id,
                project_name: project.name,
                role: Role::parse(&row.role).map_or(RoleDto::Contributor, RoleDto::from),
            });
        }
        let caller = Caller::Agent(agent.clone());
        Ok(Me {
            agent: to_agent(agent, &caller),
            memberships,
        })
    })
    .await?;
    Ok(web::Json(me))
}
