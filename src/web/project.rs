//! What the signed-in pages of one project share: the project and its
//! members' names, read as the visitor, and the way a form's submission
//! goes to the API and comes back (a redirect, or the page again with the
//! refusal beside the fields).

use std::collections::HashMap;
use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use maud::Markup;
use serde_json::Value;

use super::forms::{Field, Refusal, Submitted, body};
use super::messages::Key;
use super::public::{items, str_of};
use super::visit::{PageError, Visit};

/// A project as a signed-in page sees it.
pub struct ProjectView {
    pub id: String,
    pub project: Value,
    names: HashMap<String, String>,
}

impl ProjectView {
    /// Reads the project and its members as the visitor (who must be
    /// signed in: these pages are for members).
    pub async fn read(visit: &Visit, id: &str) -> Result<Self, PageError> {
        if visit.token.is_none() {
            return Err(PageError::SignIn(visit.path.clone()));
        }
        let project = visit.get(&format!("/v1/projects/{id}")).await?;
        let members = visit
            .get(&format!("/v1/projects/{id}/members?limit=1000"))
            .await?;
        let names = items(&members)
            .iter()
            .map(|m| {
                (
                    str_of(&m["agent"]).to_owned(),
                    str_of(&m["name"]).to_owned(),
                )
            })
            .collect();
        Ok(ProjectView {
            id: id.to_owned(),
            project,
            names,
        })
    }

    /// The first page (the API's largest) of the project's list `what`.
    pub async fn list(&self, visit: &Visit, what: &str) -> Result<Value, PageError> {
        visit
            .get(&format!(
                "{}/{what}?limit={}",
                self.base(),
                super::public::ROWS_READ_MAX
            ))
            .await
    }

    pub fn base(&self) -> String {
        format!("/v1/projects/{}", self.id)
    }

    pub fn name(&self) -> &str {
        str_of(&self.project["name"])
    }

    /// The project's page `heading` ("OpenAir Lyon – Money") around `body`.
    pub fn page(
        &self,
        visit: &Visit,
        heading: Key,
        body: Markup,
    ) -> Result<HttpResponse, PageError> {
        let title = format!("{} – {}", self.name(), visit.t(heading));
        Ok(visit.page(&title, body))
    }

    pub fn currency(&self) -> &Value {
        &self.project["currency"]
    }

    /// A member's name (an agent who is no longer a member: their id).
    pub fn person(&self, agent: &str) -> String {
        self.names
            .get(agent)
            .cloned()
            .unwrap_or_else(|| agent.to_owned())
    }

    /// The members as `<select>` options.
    pub fn people(&self) -> Vec<(String, String)> {
        let mut people: Vec<(String, String)> = self
            .names
            .iter()
            .map(|(id, name)| (id.clone(), name.clone()))
            .collect();
        people.sort_by(|a, b| a.1.cmp(&b.1));
        people
    }
}

/// A form refused by the API: which form, what was sent, why.
pub struct Failed {
    pub form: &'static str,
    pub values: Submitted,
    pub refusal: Refusal,
}

impl Failed {
    /// The values and refusal for the form `form`, if it is the one that failed.
    pub fn of<'a>(
        failed: Option<&'a Failed>,
        form: &str,
    ) -> (Option<&'a Submitted>, Option<&'a Refusal>) {
        match failed {
            Some(f) if f.form == form => (Some(&f.values), Some(&f.refusal)),
            _ => (None, None),
        }
    }
}

/// Where a form goes: its id on the page, the API path, its fields and
/// what the page adds to them (the project's currency, say).
pub struct Submission<'a> {
    pub form: &'static str,
    pub path: &'a str,
    pub fields: &'a [Field],
    pub extra: &'a [(&'a str, Value)],
    /// Sent as a `PATCH` (a change to the resource at `path`), not a `POST`.
    pub patch: bool,
}

impl<'a> Submission<'a> {
    pub fn new(form: &'static str, path: &'a str, fields: &'a [Field]) -> Self {
        Submission {
            form,
            path,
            fields,
            extra: &[],
            patch: false,
        }
    }

    pub fn patching(self) -> Self {
        Submission {
            patch: true,
            ..self
        }
    }

    pub fn with(self, extra: &'a [(&'a str, Value)]) -> Self {
        Submission { extra, ..self }
    }
}

/// The `GET` of a project's form page `/projects/{id}/...`: the page as
/// `render` draws it with no sent form to show again. The same `render`
/// draws it again, refused, after a `POST` ([`submit_back`]), so every
/// such page is read this one way.
pub fn fresh<F, Fut>(render: F) -> impl Fn(Visit, web::Path<String>) -> Fut + Clone + 'static
where
    F: Fn(Visit, String, Option<Failed>) -> Fut + Clone + 'static,
    Fut: Future<Output = Result<HttpResponse, PageError>>,
{
    move |visit, path| render(visit, path.into_inner(), None)
}

/// Sends a form of the project `id`'s page `/projects/{id}/{page}` (see
/// [`submit`]) and comes back to that page: on success by a redirect, on a
/// refusal drawn again by `render`, the refusal beside the form.
pub async fn submit_back<F, Fut>(
    visit: Visit,
    submitted: Submitted,
    to: Submission<'_>,
    (id, page): (String, &str),
    render: F,
) -> Result<HttpResponse, PageError>
where
    F: FnOnce(Visit, String, Option<Failed>) -> Fut,
    Fut: Future<Output = Result<HttpResponse, PageError>>,
{
    let back = format!("/projects/{id}/{page}");
    submit(
        visit,
        submitted,
        to,
        |_| back,
        |visit, failed| render(visit, id, failed),
    )
    .await
}

/// Sends a submitted form to the API at `path`: on success, a redirect to
/// `then` (or to what `then_created` makes of the created resource); on a
/// refusal, `page` again with the refusal, answered with the API's status.
pub async fn submit<F, Fut>(
    visit: Visit,
    submitted: Submitted,
    to: Submission<'_>,
    then: impl FnOnce(&Value) -> String,
    page: F,
) -> Result<HttpResponse, PageError>
where
    F: FnOnce(Visit, Option<Failed>) -> Fut,
    Fut: Future<Output = Result<HttpResponse, PageError>>,
{
    let Submission {
        form,
        path,
        fields,
        extra,
        patch,
    } = to;
    visit.check_csrf(submitted.get("csrf").map_or("", String::as_str))?;
    let mut json = body(&submitted, fields, &["rule_set_version"]);
    if let Value::Object(map) = &mut json {
        for (name, value) in extra {
            map.insert((*name).to_owned(), value.clone());
        }
    }
    let answer = if patch {
        visit.patch(path, &json).await?
    } else {
        visit.post(path, &json).await?
    };
    if answer.is_success() {
        return Ok(visit.see_other(&then(&answer.json())));
    }
    if answer.status == StatusCode::UNAUTHORIZED {
        return Err(PageError::SignIn(visit.path.clone()));
    }
    let status = answer.status;
    let failed = Failed {
        form,
        values: submitted,
        refusal: Refusal::of(&answer, visit.locale),
    };
    let mut response = page(visit, Some(failed)).await?;
    *response.status_mut() = status;
    Ok(response)
}
