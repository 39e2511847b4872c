//! The treasurer's money page: recording a grant or donation, an expense
//! and a payout, each a form over the API's own write.

use actix_web::{HttpResponse, web};
use maud::html;
use serde_json::Value;

use super::forms::{Field, Input, Submitted, form, options};
use super::messages::Key;
use super::project::{Failed, ProjectView, Submission, submit_back};
use super::public::{items, str_of};
use super::visit::{PageError, Visit};

/// The three forms, by the API resource each posts to.
const FORMS: [&str; 3] = ["grants", "expenses", "payouts"];

fn fields(form: &str, view: &ProjectView, grants: &[Value], categories: &[Value]) -> Vec<Field> {
    let people = view.people();
    let grants = options(grants, "id", |g| str_of(&g["reference"]).to_owned());
    let categories = options(categories, "name", |c| str_of(&c["name"]).to_owned());
    match form {
        "grants" => vec![
            Field::new("funder", Key::Funder, Input::Choice(people), true),
            Field::new(
                "kind",
                Key::Kind,
                Input::Choice(vec![
                    ("grant".into(), "grant".into()),
                    ("donation".into(), "donation".into()),
                ]),
                true,
            ),
            Field::new("reference", Key::Reference, Input::Text, true),
            Field::new("amount", Key::Amount, Input::Decimal, true),
            Field::new("received_on", Key::ReceivedOn, Input::Date, true),
            Field::new("restriction", Key::Restriction, Input::Text, false),
        ],
        "expenses" => vec![
            Field::new("grant", Key::Grant, Input::Choice(grants), false),
            Field::new("amount", Key::Amount, Input::Decimal, true),
            Field::new("category", Key::Category, Input::Choice(categories), true),
            Field::new("supplier", Key::Supplier, Input::Text, true),
            Field::new("date", Key::Date, Input::Date, true),
            Field::new("description", Key::Description, Input::LongText, true),
        ],
        _ => vec![
            Field::new("agent", Key::Contributor, Input::Choice(people), true),
            Field::new("amount", Key::Amount, Input::Decimal, true),
            Field::new("method", Key::Method, Input::Text, true),
            Field::new("reference", Key::Reference, Input::Text, true),
            Field::new("date", Key::Date, Input::Date, true),
        ],
    }
}

fn heading(form: &str) -> Key {
    match form {
        "grants" => Key::RecordGrant,
        "expenses" => Key::RecordExpense,
        _ => Key::RecordPayout,
    }
}

/// The project and what its forms offer to choose from: its grants and
/// its expense categories, as the page draws them and as a sent form is
/// read back.
async fn read(visit: &Visit, id: &str) -> Result<(ProjectView, Value, Value), PageError> {
    let view = ProjectView::read(visit, id).await?;
    let grants = view.list(visit, "grants").await?;
    let categories = view.list(visit, "expense-categories").await?;
    Ok((view, grants, categories))
}

/// `GET /projects/{project_id}/money`, or the page again with a refusal.
pub async fn render(
    visit: Visit,
    id: String,
    failed: Option<Failed>,
) -> Result<HttpResponse, PageError> {
    let (view, grants, categories) = read(&visit, &id).await?;
    let body = html! {
        @for name in FORMS {
            @let (values, refusal) = Failed::of(failed.as_ref(), name);
            h2 { (visit.t(heading(name))) }
            (form(&visit, name, &format!("/projects/{id}/money/{name}"), &fields(name, &view, items(&grants), items(&categories)), values, refusal, Key::Send))
        }
    };
    view.page(&visit, Key::Money, body)
}

/// `POST /projects/{project_id}/money/{grants|expenses|payouts}`.
pub async fn record(
    visit: Visit,
    path: web::Path<(String, String)>,
    form: web::Form<Submitted>,
) -> Result<HttpResponse, PageError> {
    let (id, which) = path.into_inner();
    let Some(name) = FORMS.into_iter().find(|f| *f == which) else {
        return Err(visit.error(actix_web::http::StatusCode::NOT_FOUND, Key::NotFound));
    };
    let (view, grants, categories) = read(&visit, &id).await?;
    let fields = fields(name, &view, items(&grants), items(&categories));
    let api = format!("{}/{name}", view.base());
    let currency = [("currency", view.currency().clone())];
    let to = Submission::new(name, &api, &fields).with(&currency);
    submit_back(visit, form.into_inner(), to, (id, "money"), render).await
}
