//! A contributor's page in a project: their contributions with their review
//! state, and the forms to log a contribution (time, equipment, data with
//! its licence) and to claim an expense they paid.

use actix_web::{HttpResponse, web};
use maud::html;
use serde_json::Value;

use super::forms::{Field, Input, Submitted, form, options};
use super::messages::Key;
use super::project::{Failed, ProjectView, Submission, submit_back};
use super::public::{items, kind_name, str_of};
use super::table::Column::{Num, Text};
use super::table::table_or_nothing;
use super::visit::{PageError, Visit};

fn log_fields(visit: &Visit) -> Vec<Field> {
    let kinds = ["time", "equipment", "data"]
        .map(|k| (k.to_owned(), kind_name(visit, k).to_owned()))
        .to_vec();
    let units = [
        ("hour", Key::Hours),
        ("day", Key::Days),
        ("dataset", Key::Dataset),
    ]
    .map(|(u, label)| (u.to_owned(), visit.t(label).to_owned()))
    .to_vec();
    vec![
        Field::new("kind", Key::Kind, Input::Choice(kinds), true),
        Field::new("date", Key::Date, Input::Date, true),
        Field::new("quantity", Key::Quantity, Input::Decimal, true),
        Field::new("unit", Key::Unit, Input::Choice(units), true),
        Field::new("description", Key::Description, Input::LongText, false),
        Field::new("skill", Key::Skill, Input::Text, false),
        Field::new("equipment", Key::EquipmentName, Input::Text, false),
        Field::new("dataset.title", Key::DatasetTitle, Input::Text, false),
        Field::new("dataset.uri", Key::DatasetUri, Input::Text, false),
        Field::new("dataset.licence", Key::DatasetLicence, Input::Text, false),
        Field::new("dataset.checksum", Key::DatasetChecksum, Input::Text, false),
    ]
}

fn claim_fields(categories: &[Value]) -> Vec<Field> {
    let categories = options(categories, "name", |c| str_of(&c["name"]).to_owned());
    vec![
        Field::new("amount", Key::Amount, Input::Decimal, true),
        Field::new("category", Key::Category, Input::Choice(categories), true),
        Field::new("date", Key::Date, Input::Date, true),
        Field::new("description", Key::Description, Input::LongText, true),
        Field::new("receipt_reference", Key::Receipt, Input::Text, false),
    ]
}

/// `GET /projects/{project_id}/contributions`, or the page again with a
/// refusal.
pub async fn render(
    visit: Visit,
    id: String,
    failed: Option<Failed>,
) -> Result<HttpResponse, PageError> {
    let view = ProjectView::read(&visit, &id).await?;
    let me = visit.get("/v1/me").await?;
    let agent = str_of(&me["agent"]["id"]);
    let mine = visit
        .get(&format!(
            "{}/contributions?agent={agent}&limit=1000",
            view.base()
        ))
        .await?;
    let categories = view.list(&visit, "expense-categories").await?;
    let (log_values, log_refusal) = Failed::of(failed.as_ref(), "log");
    let (claim_values, claim_refusal) = Failed::of(failed.as_ref(), "claim");
    let action = format!("/projects/{id}/contributions");
    let body = html! {
        h2 { (visit.t(Key::MyContributions)) }
        (table_or_nothing(&visit, &[Text(Key::Date), Text(Key::Kind), Text(Key::Description),
                Num(Key::Quantity), Num(Key::Value), Text(Key::Status)],
            items(&mine), |c| html! {
            tr {
                th scope="row" { (visit.date(&c["date"])) }
                td { (kind_name(&visit, str_of(&c["kind"]))) }
                td { (str_of(&c["description"])) (str_of(&c["dataset"]["title"])) }
                td.num { (visit.locale.number(str_of(&c["quantity"]))) " " (str_of(&c["unit"])) }
                td.num { (visit.amount(&c["valuation"]["value"], &c["valuation"]["currency"])) }
                td { (status_name(&visit, str_of(&c["status"])))
                    @for review in super::public::items_of(&c["reviews"]) {
                        @if !str_of(&review["reason"]).is_empty() { br; span.muted { (str_of(&review["reason"])) } }
                    }
                }
            }
        }))
        h2 { (visit.t(Key::LogContribution)) }
        (form(&visit, "log", &action, &log_fields(&visit), log_values, log_refusal, Key::Send))
        h2 { (visit.t(Key::Claim)) }
        (form(&visit, "claim", &format!("/projects/{id}/claims"), &claim_fields(items(&categories)), claim_values, claim_refusal, Key::Send))
    };
    view.page(&visit, Key::MyContributions, body)
}

/// `POST /projects/{project_id}/contributions`.
pub async fn log(
    visit: Visit,
    path: web::Path<String>,
    form: web::Form<Submitted>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let fields = log_fields(&visit);
    let api = format!("/v1/projects/{id}/contributions");
    let to = Submission::new("log", &api, &fields);
    submit_back(visit, form.into_inner(), to, (id, "contributions"), render).await
}

/// `POST /projects/{project_id}/claims`.
pub async fn claim(
    visit: Visit,
    path: web::Path<String>,
    form: web::Form<Submitted>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let view = ProjectView::read(&visit, &id).await?;
    let categories = view.list(&visit, "expense-categories").await?;
    let fields = claim_fields(items(&categories));
    let api = format!("/v1/projects/{id}/claims");
    let currency = [("currency", view.currency().clone())];
    let to = Submission::new("claim", &api, &fields).with(&currency);
    submit_back(visit, form.into_inner(), to, (id, "contributions"), render).await
}

pub fn status_name(visit: &Visit, status: &str) -> &'static str {
    visit.t(match status {
        "approved" => Key::Approved,
        "rejected" => Key::Rejected,
        _ => Key::Pending,
    })
}
