//! `/me`: the signed-in person's value account across projects (value by
//! kind and over time, earned, paid and owed), each distribution line they
//! received with its explanation, and the way to their projects' pages.

use actix_web::HttpResponse;
use maud::{Markup, html};
use serde_json::Value;

use super::layout::{Bar, bar_chart};
use super::messages::Key;
use super::public::{items, items_of, kind_class, kind_name, period, str_of, why};
use super::table::Column::{Num, Text};
use super::table::{amounts, head, table_or_nothing};
use super::visit::{PageError, Visit};

/// `GET /me`.
pub async fn me(visit: Visit) -> Result<HttpResponse, PageError> {
    if visit.token.is_none() {
        return Err(PageError::SignIn(visit.path.clone()));
    }
    let me = visit.get("/v1/me").await?;
    let account = visit.get("/v1/me/value-account").await?;
    let agent = str_of(&me["agent"]["id"]).to_owned();
    let mut sections = Vec::new();
    for project in items_of(&account["projects"]) {
        let id = str_of(&project["project_id"]);
        let runs = visit
            .get(&format!("/v1/projects/{id}/distributions?limit=1000"))
            .await?;
        sections.push(project_account(&visit, project, items(&runs), &agent));
    }
    let body = html! {
        h2 { (visit.t(Key::MyProjects)) }
        table {
            (head(&visit, &[Text(Key::Project), Text(Key::Role), Text(Key::Open)]))
            tbody { @for membership in items_of(&me["memberships"]) {
                (membership_row(&visit, membership))
            } }
        }
        @for section in &sections { (section) }
    };
    let title = format!(
        "{} – {}",
        visit.t(Key::ValueAccount),
        str_of(&me["agent"]["name"])
    );
    Ok(visit.page(&title, body))
}

fn membership_row(visit: &Visit, membership: &Value) -> Markup {
    let id = str_of(&membership["project_id"]);
    let role = str_of(&membership["role"]);
    html! {
        tr {
            th scope="row" { (str_of(&membership["project_name"])) }
            td { (role_name(visit, role)) }
            td {
                a href={ "/projects/" (id) "/contributions" } { (visit.t(Key::MyContributions)) }
                @if matches!(role, "owner" | "treasurer") {
                    " · " a href={ "/projects/" (id) "/review" } { (visit.t(Key::ReviewQueue)) }
                    " · " a href={ "/projects/" (id) "/distributions" } { (visit.t(Key::Distributions)) }
                    " · " a href={ "/projects/" (id) "/money" } { (visit.t(Key::Treasury)) }
                }
                " · " a href={ "/projects/" (id) "/grants" } { (visit.t(Key::Reports)) }
                @if role == "owner" {
                    " · " a href={ "/projects/" (id) "/settings" } { (visit.t(Key::Settings)) }
                }
            }
        }
    }
}

/// A role in the page's language (a role the pages do not know, as sent).
fn role_name<'a>(visit: &Visit, role: &'a str) -> &'a str {
    match role {
        "owner" => visit.t(Key::RoleOwner),
        "treasurer" => visit.t(Key::RoleTreasurer),
        "contributor" => visit.t(Key::RoleContributor),
        "auditor" => visit.t(Key::RoleAuditor),
        other => other,
    }
}

/// A kind's or a month's contribution value, approved and still pending.
const VALUE_FIELDS: &[&str] = &["approved", "pending"];

fn project_account(visit: &Visit, project: &Value, runs: &[Value], agent: &str) -> Markup {
    let by_kind = items_of(&project["by_kind"]);
    let bars: Vec<Bar<'_>> = by_kind
        .iter()
        .map(|row| Bar {
            label: kind_name(visit, str_of(&row["kind"])).to_owned(),
            value: str_of(&row["approved"]),
            class: kind_class(str_of(&row["kind"])),
        })
        .collect();
    html! {
        h2 { (str_of(&project["project_name"])) }
        @for money in items_of(&project["money"]) {
            @let c = &money["currency"];
            ul.figures {
                li { (visit.t(Key::Earned)) strong { (visit.amount(&money["distributions_earned"], c)) } }
                li { (visit.t(Key::Paid)) strong { (visit.amount(&money["payouts_received"], c)) } }
                li { (visit.t(Key::Owed)) strong { (visit.amount(&money["balance_owed"], c)) } }
            }
        }
        h3 { (visit.t(Key::ValueByKind)) }
        table {
            (head(visit, &[Text(Key::Kind), Num(Key::Approved), Num(Key::Pending)]))
            tbody { @for row in by_kind {
                tr {
                    th scope="row" { (kind_name(visit, str_of(&row["kind"]))) }
                    (amounts(visit, row, VALUE_FIELDS, &row["currency"]))
                }
            } }
        }
        @if !bars.is_empty() { (bar_chart(visit, visit.t(Key::ChartOf), &bars)) }
        h3 { (visit.t(Key::ValueOverTime)) }
        table {
            (head(visit, &[Text(Key::Month), Text(Key::Kind), Num(Key::Approved), Num(Key::Pending)]))
            tbody { @for row in items_of(&project["by_period"]) {
                tr {
                    th scope="row" { (str_of(&row["period"])) }
                    td { (kind_name(visit, str_of(&row["kind"]))) }
                    (amounts(visit, row, VALUE_FIELDS, &row["currency"]))
                }
            } }
        }
        h3 { (visit.t(Key::WhyYouGotThis)) }
        (why_lines(visit, runs, agent))
    }
}

fn why_lines(visit: &Visit, runs: &[Value], agent: &str) -> Markup {
    let mine: Vec<(&Value, &Value)> = runs
        .iter()
        .filter(|run| run["status"] == "executed")
        .flat_map(|run| items_of(&run["lines"]).iter().map(move |line| (run, line)))
        .filter(|(_, line)| line["agent"] == agent)
        .collect();
    let columns = [Text(Key::Distribution), Num(Key::Amount), Text(Key::Why)];
    table_or_nothing(visit, &columns, mine, |(run, line)| {
        html! {
            tr {
                th scope="row" { (period(visit, run)) }
                td.num { (visit.amount(&line["amount"], &run["currency"])) }
                td.why { (why(visit, &run["currency"], line)) }
            }
        }
    })
}
