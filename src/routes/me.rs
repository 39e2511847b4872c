//! `GET /v1/me`: the caller and their memberships.

use actix_web::{get, web};
use commons_ledger_macros::operation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::access::Caller;
use super::call::SignedIn;
use super::dto::{Agent, RoleDto, to_agent};
use super::problem::ApiError;
use crate::db::{self};

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

/// The caller
///
/// The signed-in agent and the projects they belong to, with their role in
/// each.
#[operation(get "/me", tag = "auth", signed_in, responses(200 Me "The caller"))]
pub async fn get_me(signed_in: SignedIn) -> Result<web::Json<Me>, ApiError> {
    let me = signed_in
        .read(|conn, agent| {
            let memberships = db::memberships::with_projects(conn, &agent.id)?
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
