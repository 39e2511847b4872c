//! An owner's settings page: how the project names its contributors to
//! the readers of its books (its public page above all), a form over the
//! API's own `PATCH /v1/projects/{project_id}`, which decides who may.

use actix_web::{HttpResponse, web};
use maud::html;

use super::forms::{Field, Input, Submitted, form};
use super::messages::Key;
use super::project::{Failed, ProjectView, Submission, submit_back};
use super::public::str_of;
use super::visit::{PageError, Visit};

const FORM: &str = "settings";

fn fields(visit: &Visit) -> Vec<Field> {
    let choice = |value: &str, key| (value.to_owned(), visit.t(key).to_owned());
    let names = vec![
        choice("hidden", Key::NamesHiddenChoice),
        choice("initials", Key::NamesInitialsChoice),
        choice("names", Key::NamesShownChoice),
    ];
    vec![Field::new(
        "contributor_names",
        Key::ContributorNamesSetting,
        Input::Choice(names),
        true,
    )]
}

/// `GET /projects/{project_id}/settings`, or the page again with a refusal.
pub async fn render(
    visit: Visit,
    id: String,
    failed: Option<Failed>,
) -> Result<HttpResponse, PageError> {
    let view = ProjectView::read(&visit, &id).await?;
    let current: Submitted = [(
        "contributor_names".to_owned(),
        str_of(&view.project["contributor_names"]).to_owned(),
    )]
    .into();
    let (values, refusal) = Failed::of(failed.as_ref(), FORM);
    let body = html! {
        p { (visit.t(Key::SettingsIntro)) }
        (form(&visit, FORM, &format!("/projects/{id}/settings"), &fields(&visit), values.or(Some(&current)), refusal, Key::Send))
        p { a href={ "/p/" (id) } { (visit.t(Key::PublicBooks)) } }
    };
    view.page(&visit, Key::Settings, body)
}

/// `POST /projects/{project_id}/settings`: the change, sent as a `PATCH`.
pub async fn change(
    visit: Visit,
    path: web::Path<String>,
    form: web::Form<Submitted>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let fields = fields(&visit);
    let api = format!("/v1/projects/{id}");
    let to = Submission::new(FORM, &api, &fields).patching();
    submit_back(visit, form.into_inner(), to, (id, "settings"), render).await
}
