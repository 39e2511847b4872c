//! A treasurer's pages: the review queue (approve, or reject with a
//! reason), distributions (draft, read the dry run line by line, approve,
//! execute), and recording a grant, an expense and a payout. Whether the
//! visitor may do each is the API's decision: a refusal is shown in words.

use actix_web::{HttpResponse, web};
use maud::html;
use serde_json::Value;

use super::forms::{Field, Input, Submitted, form, options};
use super::messages::Key;
use super::project::{Failed, ProjectView, Submission, submit, submit_back};
use super::public::{distribution_lines, items, items_of, kind_name, period, str_of};
use super::table::Column::{Num, Text};
use super::table::table_or_nothing;
use super::visit::{PageError, Visit};

fn review_fields() -> Vec<Field> {
    vec![Field::new("reason", Key::Reason, Input::Text, false)]
}

/// `GET /projects/{project_id}/review`, or the page again with a refusal.
pub async fn render_review(
    visit: Visit,
    id: String,
    failed: Option<Failed>,
) -> Result<HttpResponse, PageError> {
    let view = ProjectView::read(&visit, &id).await?;
    let pending = visit
        .get(&format!(
            "{}/contributions?status=pending&limit=1000",
            view.base()
        ))
        .await?;
    let body = html! {
        @if let Some(failed) = &failed {
            p.error role="alert" { (visit.t(Key::Refused)) " " (failed.refusal.detail) }
        }
        @if items(&pending).is_empty() { p { (visit.t(Key::Nothing)) } }
        @for c in items(&pending) {
            @let cid = str_of(&c["id"]);
            section aria-labelledby={ "c-" (cid) } {
                h2 id={ "c-" (cid) } { (view.person(str_of(&c["agent"]))) " – " (kind_name(&visit, str_of(&c["kind"]))) ", " (visit.date(&c["date"])) }
                p {
                    (visit.locale.number(str_of(&c["quantity"]))) " " (str_of(&c["unit"])) " · "
                    (visit.amount(&c["valuation"]["value"], &c["valuation"]["currency"])) " · "
                    (str_of(&c["description"])) (str_of(&c["dataset"]["title"]))
                    @if !str_of(&c["dataset"]["licence"]).is_empty() { " · " code { (str_of(&c["dataset"]["licence"])) } }
                }
                form.inline method="post" action={ "/projects/" (id) "/review/" (cid) } {
                    input type="hidden" name="csrf" value=(visit.csrf);
                    input type="hidden" name="decision" value="approve";
                    button type="submit" { (visit.t(Key::Approve)) }
                }
                (form(&visit, &format!("reject-{cid}"), &format!("/projects/{id}/review/{cid}?decision=reject"), &review_fields(), None, None, Key::Reject))
            }
        }
    };
    view.page(&visit, Key::ReviewQueue, body)
}

#[derive(serde::Deserialize)]
pub struct Decision {
    decision: Option<String>,
}

/// `POST /projects/{project_id}/review/{contribution_id}`.
pub async fn review(
    visit: Visit,
    path: web::Path<(String, String)>,
    query: web::Query<Decision>,
    form: web::Form<Submitted>,
) -> Result<HttpResponse, PageError> {
    let (id, contribution) = path.into_inner();
    let mut submitted = form.into_inner();
    if let Some(decision) = query.into_inner().decision {
        submitted.insert("decision".to_owned(), decision);
    }
    let fields = vec![
        Field::new("decision", Key::Status, Input::Text, true),
        Field::new("reason", Key::Reason, Input::Text, false),
    ];
    let api = format!("/v1/projects/{id}/contributions/{contribution}/reviews");
    let to = Submission::new("review", &api, &fields);
    submit_back(visit, submitted, to, (id, "review"), render_review).await
}

fn draft_fields(rule_sets: &[Value], grants: &[Value]) -> Vec<Field> {
    let versions = options(rule_sets, "version", |r| format!("v{}", r["version"]));
    let grants = options(grants, "id", |g| str_of(&g["reference"]).to_owned());
    vec![
        Field::new(
            "rule_set_version",
            Key::RuleSetVersion,
            Input::Choice(versions),
            true,
        ),
        Field::new("grant", Key::Grant, Input::Choice(grants), false),
        Field::new("amount", Key::Amount, Input::Decimal, true),
        Field::new("period_from", Key::PeriodFrom, Input::Date, true),
        Field::new("period_to", Key::PeriodTo, Input::Date, true),
    ]
}

/// `GET /projects/{project_id}/distributions`, or the page again with a
/// refusal.
pub async fn render_distributions(
    visit: Visit,
    id: String,
    failed: Option<Failed>,
) -> Result<HttpResponse, PageError> {
    let view = ProjectView::read(&visit, &id).await?;
    let runs = view.list(&visit, "distributions").await?;
    let rule_sets = view.list(&visit, "rule-sets").await?;
    let grants = view.list(&visit, "grants").await?;
    let (values, refusal) = Failed::of(failed.as_ref(), "draft");
    let body = html! {
        (table_or_nothing(&visit, &[Text(Key::Period), Num(Key::Amount), Text(Key::Status)], items(&runs), |run| html! {
            tr {
                th scope="row" { a href={ "/projects/" (id) "/distributions/" (str_of(&run["id"])) } { (period(&visit, run)) } }
                td.num { (visit.amount(&run["amount"], &run["currency"])) }
                td { (str_of(&run["status"])) }
            }
        }))
        h2 { (visit.t(Key::DraftDistribution)) }
        (form(&visit, "draft", &format!("/projects/{id}/distributions"), &draft_fields(items(&rule_sets), items(&grants)), values, refusal, Key::Send))
    };
    view.page(&visit, Key::Distributions, body)
}

/// `POST /projects/{project_id}/distributions`: drafts a run (its dry run).
pub async fn draft(
    visit: Visit,
    path: web::Path<String>,
    form: web::Form<Submitted>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let base = format!("/v1/projects/{id}");
    let rule_sets = visit.get(&format!("{base}/rule-sets?limit=1000")).await?;
    let grants = visit.get(&format!("{base}/grants?limit=1000")).await?;
    let fields = draft_fields(items(&rule_sets), items(&grants));
    let page = format!("/projects/{id}/distributions");
    let then = move |created: &Value| format!("{page}/{}", str_of(&created["id"]));
    submit(
        visit,
        form.into_inner(),
        Submission::new("draft", &format!("{base}/distributions"), &fields),
        then,
        |v, f| render_distributions(v, id, f),
    )
    .await
}

/// `GET /projects/{project_id}/distributions/{distribution_id}`.
pub async fn distribution_page(
    visit: Visit,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (id, run) = path.into_inner();
    render_distribution(visit, id, run, None).await
}

async fn render_distribution(
    visit: Visit,
    id: String,
    run_id: String,
    failed: Option<Failed>,
) -> Result<HttpResponse, PageError> {
    let view = ProjectView::read(&visit, &id).await?;
    let run = visit
        .get(&format!("{}/distributions/{run_id}", view.base()))
        .await?;
    let status = str_of(&run["status"]);
    let action = format!("/projects/{id}/distributions/{run_id}");
    let (values, refusal) = Failed::of(failed.as_ref(), "execute");
    let body = html! {
        p { (visit.t(Key::Status)) ": " strong { (status) } " · " (visit.t(Key::Amount)) ": " (visit.amount(&run["amount"], &run["currency"])) " · " code { (str_of(&run["pool"])) } }
        h2 { (visit.t(Key::DryRun)) }
        (distribution_lines(&visit, &run, &|agent| view.person(agent)))
        h2 { (visit.t(Key::Approvals)) }
        p { (items_of(&run["approvals"]).len()) " / " (run["approvals_required"]) ": "
            @for approval in items_of(&run["approvals"]) { (view.person(str_of(&approval["approver"]))) " " } }
        @if let Some(failed) = failed.as_ref().filter(|f| f.form == "approve") {
            p.error role="alert" { (visit.t(Key::Refused)) " " (failed.refusal.detail) }
        }
        @if status == "draft" {
            form.inline method="post" action={ (action) "/approve" } {
                input type="hidden" name="csrf" value=(visit.csrf);
                button type="submit" { (visit.t(Key::Approve)) }
            }
        }
        @if matches!(status, "draft" | "approved") {
            h2 { (visit.t(Key::Execute)) }
            (form(&visit, "execute", &format!("{action}/execute"), &execute_fields(), values, refusal, Key::Execute))
        }
    };
    let title = format!(
        "{} – {} {}",
        view.name(),
        visit.t(Key::Distribution),
        period(&visit, &run)
    );
    Ok(visit.page(&title, body))
}

/// The execution form's one field: drawn on the run's page and read back
/// from it when the form is sent, so both must name the same field.
fn execute_fields() -> [Field; 1] {
    [Field::new(
        "effective_date",
        Key::EffectiveDate,
        Input::Date,
        true,
    )]
}

/// `POST /projects/{project_id}/distributions/{distribution_id}/approve`.
pub async fn approve(
    visit: Visit,
    path: web::Path<(String, String)>,
    form: web::Form<Submitted>,
) -> Result<HttpResponse, PageError> {
    on_run(visit, path, form, "approve", "approvals", &[]).await
}

/// `POST /projects/{project_id}/distributions/{distribution_id}/execute`.
pub async fn execute(
    visit: Visit,
    path: web::Path<(String, String)>,
    form: web::Form<Submitted>,
) -> Result<HttpResponse, PageError> {
    on_run(visit, path, form, "execute", "execution", &execute_fields()).await
}

/// Sends a step of a run's lifecycle: the form `name`, posted with its
/// `fields` to the run's API `resource`. Approving and executing differ
/// only in those three, and both come back to the run's page (with the
/// refusal beside the form when the API refuses).
async fn on_run(
    visit: Visit,
    path: web::Path<(String, String)>,
    form: web::Form<Submitted>,
    name: &'static str,
    resource: &str,
    fields: &[Field],
) -> Result<HttpResponse, PageError> {
    let (id, run) = path.into_inner();
    let api = format!("/v1/projects/{id}/distributions/{run}/{resource}");
    let back = format!("/projects/{id}/distributions/{run}");
    submit(
        visit,
        form.into_inner(),
        Submission::new(name, &api, fields),
        |_| back,
        |v, f| render_distribution(v, id, run, f),
    )
    .await
}
