//! `/v1/projects/{project_id}/closings`: closing the books through a date.
//! Once closed, nothing dated on or before it is posted, recorded,
//! reviewed, reversed or distributed into it (`period_closed`), so every
//! report of the closed period stays as it was sent.

use actix_web::{HttpResponse, get, post, web};
use commons_ledger_macros::operation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::call::{ProjectPage, ProjectWrite};
use super::dto::PageQuery;
use super::dto::page_type;
use super::extract::{CursorKey, date_field};
use super::limits::check_length;
use super::openapi::OwnersAndTreasurers;
use super::problem::{ApiError, Problem};
use super::write::Reply;
use crate::db::closings::ClosingRow;
use crate::db::projects::Project;
use crate::db::{self, DbConnection};
use crate::domain::access::Action;
use crate::http::reply::in_project;
use crate::ops;

/// Longest note of a closing, in characters.
pub const CLOSING_NOTE_LENGTH_MAX: usize = 1_000;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_closing).service(list_closings);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"through": "2026-03-31", "note": "Q1 report sent to Fondation Horizon"}))]
pub struct CreateClosingRequest {
    /// The last day closed: after the last closing, before today.
    #[schema(example = "2026-03-31", format = Date, max_length = 10)]
    pub through: String,
    /// Why, e.g. "Q1 report sent to Fondation Horizon" (at most 1000 characters).
    #[serde(default)]
    #[schema(example = "Q1 report sent to Fondation Horizon", max_length = 1000)]
    pub note: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Closing {
    #[schema(format = Uuid)]
    pub id: String,
    /// The last day closed.
    #[schema(format = Date)]
    pub through: String,
    pub note: String,
    /// Who closed it.
    #[schema(format = Uuid)]
    pub created_by: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

page_type!(ClosingPage, Closing);

fn to_closing(row: ClosingRow) -> Closing {
    Closing {
        id: row.id,
        through: row.through.to_string(),
        note: row.note,
        created_by: row.created_by,
        created_at: db::format_timestamp(row.created_at),
    }
}

/// Close the books
///
/// Closes the books through a date (owners and treasurers): nothing dated on or
/// before it can be posted, recorded, reviewed, reversed or distributed any
/// more; corrections go in adjustments dated after it. A closing only moves
/// forward.
#[operation(post "/projects/{project_id}/closings", tag = "transactions",
    request_body = CreateClosingRequest, signed_in,
    responses(
        201 Closing "The closing",
        OwnersAndTreasurers,
        422 "`closing_not_forward`, `closing_not_past`, `invalid_date`, `too_long`",
    ))]
pub async fn create_closing(
    ProjectWrite { body, call }: ProjectWrite<CreateClosingRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    let through = date_field("through", &body.through, &mut errors);
    let note = body.note.trim().to_owned();
    check_length("note", &note, CLOSING_NOTE_LENGTH_MAX, &mut errors);
    let (Some(through), true) = (through, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    call.run(Action::WriteLedger, move |conn, caller, project| {
        let by = caller.signed_in()?.id.clone();
        let row = ops::closings::close(conn, project, &by, through, &note)?;
        // Closings have no `GET` of their own: their list holds them.
        Reply::created(
            in_project(&project.id, format_args!("closings")),
            &to_closing(row),
        )
    })
    .await
}

/// List closings
///
/// A project's closings, oldest first: each the date through which the books
/// are closed, who closed them, when, and their note.
#[operation(get "/projects/{project_id}/closings", tag = "transactions", public,
    params(PageQuery), responses(200 ClosingPage "A page of closings"))]
pub async fn list_closings(page: ProjectPage) -> Result<web::Json<ClosingPage>, ApiError> {
    let fetch = |conn: &mut DbConnection, project: &Project, after: Option<&str>, limit| {
        let rows = db::closings::list(conn, &project.id, after, limit)?;
        Ok(rows.into_iter().map(to_closing).collect())
    };
    let page = page
        .read(Action::ReadLedger, CursorKey::Id, fetch, |c| c.id.clone())
        .await?;
    Ok(web::Json(page.into()))
}
