//! `GET /v1/projects/{project_id}/contributors`: who has contributed to a
//! project, named as the project allows its readers to see them (its
//! `contributor_names` setting: names, initials or hidden). Anyone who may
//! read the books may read this list, so a public project's list is public;
//! the names themselves are given only as the owners chose.

use actix_web::{get, web};
use commons_ledger_macros::operation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::call::ProjectPage;
use super::dto::PageQuery;
use super::dto::page_type;
use super::extract::CursorKey;
use super::problem::ApiError;
use crate::db;
use crate::domain::access::Action;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_contributors);
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Contributor {
    /// The agent, as named in contributions and distribution lines.
    #[schema(format = Uuid)]
    pub agent: String,
    /// The name readers are shown: the agent's name (`names`), its initials
    /// (`initials`, e.g. "C. D."), or null (`hidden`).
    pub name: Option<String>,
}

page_type!(
    ContributorPage,
    Contributor,
    " Pass as `cursor` to get the next page; null on the last page."
);

/// List contributors as readers see them
///
/// The agents who have recorded a contribution in the project, by id, each
/// named as the project's `contributor_names` setting allows: by name, by
/// initials, or not at all (null). Anyone who may read the project's books
/// may call it, without a token on a public project.
#[operation(get "/projects/{project_id}/contributors", tag = "contributions", public,
    params(PageQuery), responses(200 ContributorPage "A page of contributors"))]
pub async fn list_contributors(page: ProjectPage) -> Result<web::Json<ContributorPage>, ApiError> {
    let page = page
        .read(
            Action::ReadLedger,
            CursorKey::Id,
            |conn, project, after, limit| {
                let names = project.contributor_names;
                let rows = db::contributions::contributors(conn, &project.id, after, limit)?;
                Ok(rows
                    .into_iter()
                    .map(|(agent, name)| Contributor {
                        name: names.shown(&name),
                        agent,
                    })
                    .collect())
            },
            |contributor: &Contributor| contributor.agent.clone(),
        )
        .await?;
    Ok(web::Json(page.into()))
}
