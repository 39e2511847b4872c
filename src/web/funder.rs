//! The funder's and auditor's page: the project's grants with received,
//! spent, distributed, reserved and remaining, and the report downloads,
//! fetched from the API with the visitor's token (a browser cannot send a
//! bearer token on a plain link).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use maud::html;

use super::api::Call;
use super::messages::Key;
use super::project::ProjectView;
use super::public::{items, str_of};
use super::table::Column::{Num, Text};
use super::table::{amounts, table_or_nothing};
use super::visit::{PageError, Visit};

/// `GET /projects/{project_id}/grants`.
pub async fn page(visit: Visit, path: web::Path<String>) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let view = ProjectView::read(&visit, &id).await?;
    let grants = view.list(&visit, "grants").await?;
    let reports = format!("/projects/{id}/reports");
    let body = html! {
        (table_or_nothing(&visit, &[Text(Key::Grant), Text(Key::Funder),
                Num(Key::Received), Num(Key::Spent), Num(Key::Distributed), Num(Key::Reserved), Num(Key::Remaining),
                Text(Key::Downloads)],
            items(&grants), |grant| html! {
            tr {
                th scope="row" { (str_of(&grant["reference"])) }
                td { (view.person(str_of(&grant["funder"]))) }
                (amounts(&visit, grant, &["received", "spent", "distributed", "reserved", "remaining"], &grant["currency"]))
                td { a href={ (reports) "/grants/" (str_of(&grant["id"])) ".csv" } { (visit.t(Key::GrantReport)) } }
            }
        }))
        h2 { (visit.t(Key::Downloads)) }
        ul {
            li { a href={ (reports) "/journal.csv" } { (visit.t(Key::JournalCsv)) } }
            li { a href={ (reports) "/journal.hledger" } { (visit.t(Key::JournalHledger)) } }
            li { a href={ (reports) "/contributions.csv" } { (visit.t(Key::ContributionsCsv)) } }
        }
    };
    view.page(&visit, Key::Reports, body)
}

/// `GET /projects/{project_id}/reports/{report}`: the API's report of the
/// same name, read as the visitor, with its file name.
pub async fn download(
    visit: Visit,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (id, report) = path.into_inner();
    if visit.token.is_none() {
        return Err(PageError::SignIn(visit.path.clone()));
    }
    let api = format!("/v1/projects/{id}/reports/{report}");
    let answer = visit.send(Call::get(&api, visit.token.as_deref())).await?;
    if !answer.is_success() {
        return Err(visit.refusal(&answer));
    }
    let mut response = HttpResponse::Ok();
    if let Some(kind) = &answer.content_type {
        response.insert_header((header::CONTENT_TYPE, kind.clone()));
    }
    if let Some(disposition) = &answer.disposition {
        response.insert_header((header::CONTENT_DISPOSITION, disposition.clone()));
    }
    Ok(response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(answer.body))
}
