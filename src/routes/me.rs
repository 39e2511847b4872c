//! `GET /v1/me`: the caller and their memberships.

use actix_web::{get, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::access::Caller;
use super::call::SignedIn;
use super::codes::Resource;
use super::dto::{Agent, RoleDto, to_agent};
use super::problem::ApiError;
use crate::db::memberships::MembershipRow;
use crate::db::projects::Project;
use crate::db::{self, DbConnection};

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
pub async fn get_me(signed_in: SignedIn) -> Result<web::Json<Me>, ApiError> {
    let me = signed_in
        .read(|conn, agent| {
            let memberships = projects_of(conn, &agent.id)?
                .into_iter()
                .map(|(row, project)| Membership {
                    project_id: row.project_id,
                    project_name: project.name,
                    role: RoleDto::from(row.role),
                })
                .collect();
            let caller = Caller::Agent(agent.clone());
            Ok(Me {
                agent: to_agent(agent, &caller),
                memberships,
            })
        })
        .await?;
    Ok(web::Json(me))
}

/// The agent's memberships, each with its project.
pub fn projects_of(
    conn: &mut DbConnection,
    agent_id: &str,
) -> Result<Vec<(MembershipRow, Project)>, ApiError> {
    let mut projects = Vec::new();
    for row in db::memberships::of_agent(conn, agent_id)? {
        let project = db::projects::find(conn, &row.project_id)?
            .ok_or(ApiError::NotFound(Resource::Project))?;
        projects.push((row, project));
    }
    Ok(projects)
}
