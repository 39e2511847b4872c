//! The home page and a public project's transparency page (`/p/{project}`):
//! money in, money out, pools, contributions by kind over time, the latest
//! distributions with each line's explanation, and the report downloads.
//! Everything is read from the API as the visitor (anonymous or signed in),
//! so a project that is not public is not found here either.
//!
//! Contributors are named as the project allows its readers
//! (`GET .../contributors`: names, initials, or hidden); a hidden name is
//! shown as "Contributor 1, 2, …" in the order of first appearance. Grants
//! are shown by their reference.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use rust_decimal::Decimal;
use serde_json::Value;

use super::layout::{Bar, bar_chart};
use super::locale::Locale;
use super::messages::Key;
use super::table::Column::{Num, Text};
use super::table::{amounts, table_or_nothing};
use super::visit::{PageError, Visit};

/// The most rows a page reads of each list (the API's page size maximum).
pub const ROWS_READ_MAX: u32 = 1000;
/// How many distributions the page shows, newest first.
const DISTRIBUTIONS_SHOWN: usize = 5;

/// `/`: the public projects, and where to sign in.
pub async fn home(visit: Visit) -> Result<HttpResponse, PageError> {
    let projects = visit.get("/v1/projects?limit=100").await?;
    let body = html! {
        p { (visit.t(Key::HomeIntro)) }
        h2 { (visit.t(Key::PublicProjects)) }
        @let public: Vec<&Value> = items(&projects).iter().filter(|p| p["public"] == true).collect();
        @if public.is_empty() {
            p { (visit.t(Key::NoPublicProjects)) }
        } @else {
            ul {
                @for project in public {
                    li { a href={ "/p/" (str_of(&project["id"])) } { (str_of(&project["name"])) } }
                }
            }
        }
    };
    Ok(visit.page(visit.t(Key::AppName), body))
}

/// `/p/{project_id}`: the transparency page.
pub async fn project(visit: Visit, path: web::Path<String>) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let base = format!("/v1/projects/{id}");
    let project = visit.get(&base).await?;
    let list = |what: &str| format!("{base}/{what}?limit={ROWS_READ_MAX}");
    let grants = visit.get(&list("grants")).await?;
    let expenses = visit.get(&list("expenses")).await?;
    let balances = visit.get(&list("balances")).await?;
    let distributions = visit.get(&list("distributions")).await?;
    let contributions = visit.get(&list("contributions")).await?;
    let named = visit.get(&list("contributors")).await?;
    let people = People::of(items(&named), items(&distributions), items(&contributions));
    let currency = &project["currency"];
    let body = html! {
        (money_in(&visit, items(&grants)))
        (money_out(&visit, items(&expenses), items(&distributions), currency))
        (pools(&visit, items(&balances)))
        (contributions_over_time(&visit, items(&contributions), currency))
        (latest_distributions(&visit, items(&distributions), &people, &project))
        (downloads(&visit, &base, items(&grants), items(&distributions)))
    };
    let title = format!(
        "{} – {}",
        str_of(&project["name"]),
        visit.t(Key::PublicBooks)
    );
    Ok(visit.page(&title, body))
}

fn money_in(visit: &Visit, grants: &[Value]) -> Markup {
    html! {
        h2 { (visit.t(Key::MoneyIn)) }
        (table_or_nothing(visit, &[Text(Key::Reference), Text(Key::Kind), Text(Key::ReceivedOn), Text(Key::Restriction),
                Num(Key::Received), Num(Key::Spent), Num(Key::Distributed), Num(Key::Remaining)],
            grants, |grant| html! {
            tr {
                th scope="row" { (str_of(&grant["reference"])) }
                td { (str_of(&grant["kind"])) }
                td { (visit.date(&grant["received_on"])) }
                td { (str_of(&grant["restriction"])) }
                (amounts(visit, grant, &["received", "spent", "distributed", "remaining"], &grant["currency"]))
            }
        }))
    }
}

fn money_out(visit: &Visit, expenses: &[Value], runs: &[Value], currency: &Value) -> Markup {
    let mut by_category: BTreeMap<String, Decimal> = BTreeMap::new();
    for expense in expenses.iter().filter(|e| e["status"] == "posted") {
        let entry = by_category
            .entry(str_of(&expense["category"]).to_owned())
            .or_default();
        *entry = entry
            .checked_add(decimal(&expense["amount"]))
            .unwrap_or(*entry);
    }
    let executed: Vec<&Value> = runs.iter().filter(|r| r["status"] == "executed").collect();
    html! {
        h2 { (visit.t(Key::MoneyOut)) }
        h3 { (visit.t(Key::ByCategory)) }
        (table_or_nothing(visit, &[Text(Key::Category), Num(Key::Amount)], &by_category, |(category, amount)| html! {
            tr { th scope="row" { (category) } td.num { (visit.locale.amount(&amount.to_string(), str_of(currency))) } }
        }))
        h3 { (visit.t(Key::ByDistribution)) }
        (table_or_nothing(visit, &[Text(Key::Period), Num(Key::Amount), Num(Key::Residue)], executed, |run| html! {
            tr {
                th scope="row" { (period(visit, run)) }
                (amounts(visit, run, &["amount", "residue"], &run["currency"]))
            }
        }))
    }
}

fn pools(visit: &Visit, balances: &[Value]) -> Markup {
    let pools: Vec<&Value> = balances
        .iter()
        .filter(|b| {
            let name = str_of(&b["account"]);
            name.starts_with("pool:") || name == "reserve"
        })
        .collect();
    html! {
        h2 { (visit.t(Key::Pools)) }
        (table_or_nothing(visit, &[Text(Key::Account), Num(Key::Balance), Num(Key::Reserved), Num(Key::Available)], pools, |pool| html! {
            tr {
                th scope="row" { code { (str_of(&pool["account"])) } }
                (amounts(visit, pool, &["balance", "reserved", "available"], &pool["currency"]))
            }
        }))
    }
}

/// Approved contribution value by month and kind: a table and its chart.
pub fn contributions_over_time(visit: &Visit, contributions: &[Value], currency: &Value) -> Markup {
    let mut table: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for contribution in contributions.iter().filter(|c| c["status"] == "approved") {
        let month = str_of(&contribution["date"])
            .get(..7)
            .unwrap_or_default()
            .to_owned();
        let kind = str_of(&contribution["kind"]).to_owned();
        let entry = table.entry((month, kind)).or_default();
        let value = decimal(&contribution["valuation"]["value"]);
        *entry = entry.checked_add(value).unwrap_or(*entry);
    }
    let rows: Vec<(String, String, String)> = table
        .into_iter()
        .map(|((month, kind), value)| (month, kind, value.to_string()))
        .collect();
    let bars: Vec<Bar<'_>> = rows
        .iter()
        .map(|(month, kind, value)| Bar {
            label: format!("{month} {}", kind_name(visit, kind)),
            value,
            class: kind_class(kind),
        })
        .collect();
    html! {
        h2 { (visit.t(Key::ContributionsByKind)) }
        (table_or_nothing(visit, &[Text(Key::Month), Text(Key::Kind), Num(Key::Value)], &rows, |(month, kind, value)| html! {
            tr {
                th scope="row" { (month) }
                td { (kind_name(visit, kind)) }
                td.num { (visit.locale.amount(value, str_of(currency))) }
            }
        }))
        // The chart repeats the table's figures: none without a table.
        @if !rows.is_empty() { (bar_chart(visit, visit.t(Key::ChartOf), &bars)) }
    }
}

fn latest_distributions(visit: &Visit, runs: &[Value], people: &People, project: &Value) -> Markup {
    let mut shown: Vec<&Value> = runs.iter().filter(|r| r["status"] == "executed").collect();
    shown.sort_by(|a, b| str_of(&b["created_at"]).cmp(str_of(&a["created_at"])));
    shown.truncate(DISTRIBUTIONS_SHOWN);
    html! {
        h2 { (visit.t(Key::LatestDistributions)) }
        p.muted { (visit.t(match project["contributor_names"].as_str() {
            Some("names") => Key::NamesShown,
            Some("initials") => Key::NamesInitials,
            Some("hidden") => Key::NamesHidden,
            _ => Key::ContributorNames,
        })) }
        @if shown.is_empty() { p { (visit.t(Key::Nothing)) } }
        @for run in shown {
            h3 { (visit.t(Key::Distribution)) " " (period(visit, run)) " – " (visit.amount(&run["amount"], &run["currency"])) }
            (distribution_lines(visit, run, &|agent| people.name(visit, agent)))
        }
    }
}

/// A run's lines: transfers to accounts, each contributor's line with its
/// explanation, and the residue.
pub fn distribution_lines(visit: &Visit, run: &Value, name: &dyn Fn(&str) -> String) -> Markup {
    let c = &run["currency"];
    html! {
        table {
            thead { tr {
                th scope="col" { (visit.t(Key::Contributor)) " / " (visit.t(Key::Account)) }
                th.num scope="col" { (visit.t(Key::Amount)) }
                th scope="col" { (visit.t(Key::Why)) }
            } }
            tbody {
                @for transfer in items_of(&run["transfers"]) {
                    tr {
                        th scope="row" { (visit.t(Key::ToReserve)) " " code { (str_of(&transfer["account"])) } }
                        td.num { (visit.amount(&transfer["amount"], c)) }
                        td {}
                    }
                }
                @for line in items_of(&run["lines"]) {
                    tr {
                        th scope="row" { (name(str_of(&line["agent"]))) }
                        td.num { (visit.amount(&line["amount"], c)) }
                        td.why { (why(visit, c, line)) }
                    }
                }
                tr {
                    th scope="row" { (visit.t(Key::Residue)) }
                    td.num { (visit.amount(&run["residue"], c)) }
                    td {}
                }
            }
        }
    }
}

/// Why a line is what it is. English pages give the API's own sentence
/// (each kind's value, the exact share); other languages say the basis,
/// the share, what rounding, a cap or the minimum did and the amount in
/// their words, with the API's sentence below for the exact figures.
pub fn why(visit: &Visit, currency: &Value, line: &Value) -> Markup {
    let explanation = str_of(&line["explanation"]);
    if visit.locale == Locale::En {
        return html! { (explanation) };
    }
    let money = |field: &str| visit.amount(&line[field], currency);
    let moved = |field: &str| !decimal(&line[field]).is_zero();
    html! {
        (money("basis")) " " (visit.t(Key::WhyApproved)) " "
        (visit.locale.number(str_of(&line["share_percent"]))) "\u{A0}% " (visit.t(Key::WhyOfStep))
        @if moved("rounding_adjustment") { ", +" (money("rounding_adjustment")) " " (visit.t(Key::WhyRounding)) }
        @if moved("capped_by") { ", " (visit.t(Key::WhyCapped)) " " (money("capped_by")) }
        @if line["dropped"] == true { ", " (visit.t(Key::WhyDropped)) }
        " ; " (visit.t(Key::WhyPaid)) " " (money("amount")) "."
        details {
            summary { (visit.t(Key::WhyExact)) }
            span lang="en" { (explanation) }
        }
    }
}

fn downloads(visit: &Visit, base: &str, grants: &[Value], runs: &[Value]) -> Markup {
    html! {
        h2 { (visit.t(Key::Downloads)) }
        ul {
            li { a href={ (base) "/reports/journal.csv" } { (visit.t(Key::JournalCsv)) } }
            li { a href={ (base) "/reports/journal.hledger" } { (visit.t(Key::JournalHledger)) } }
            li { a href={ (base) "/reports/contributions.csv" } { (visit.t(Key::ContributionsCsv)) } }
            @for grant in grants {
                li { a href={ (base) "/reports/grants/" (str_of(&grant["id"])) ".csv" } {
                    (visit.t(Key::GrantReport)) " " (str_of(&grant["reference"])) } }
            }
            @for run in runs.iter().filter(|r| r["status"] == "executed") {
                li { a href={ (base) "/reports/distributions/" (str_of(&run["id"])) ".csv" } {
                    (visit.t(Key::DistributionStatement)) " " (period(visit, run)) } }
            }
        }
    }
}

/// Contributors as the project names them to its readers; one whose name
/// is hidden is "Contributor 1, 2, …" by first appearance (newest runs'
/// lines first, then contributions), the same on every visit while the
/// books are unchanged.
struct People {
    names: BTreeMap<String, String>,
    order: Vec<String>,
}

impl People {
    fn of(named: &[Value], runs: &[Value], contributions: &[Value]) -> Self {
        let names = named
            .iter()
            .filter_map(|c| {
                Some((
                    str_of(&c["agent"]).to_owned(),
                    c["name"].as_str()?.to_owned(),
                ))
            })
            .collect();
        let mut order: Vec<String> = Vec::new();
        let lines = runs.iter().flat_map(|r| items_of(&r["lines"]).iter());
        for agent in lines
            .map(|l| &l["agent"])
            .chain(contributions.iter().map(|c| &c["agent"]))
        {
            let agent = str_of(agent).to_owned();
            if !order.contains(&agent) {
                order.push(agent);
            }
        }
        People { names, order }
    }

    fn name(&self, visit: &Visit, agent: &str) -> String {
        if let Some(name) = self.names.get(agent) {
            return name.clone();
        }
        let number = self
            .order
            .iter()
            .position(|a| a == agent)
            .map_or(0, |i| i + 1);
        format!("{} {number}", visit.t(Key::Someone))
    }
}

pub fn period(visit: &Visit, run: &Value) -> String {
    format!(
        "{} – {}",
        visit.date(&run["period_from"]),
        visit.date(&run["period_to"])
    )
}

pub fn kind_name(visit: &Visit, kind: &str) -> &'static str {
    visit.t(match kind {
        "time" => Key::KindTime,
        "equipment" => Key::KindEquipment,
        "data" => Key::KindData,
        "money" => Key::KindMoney,
        _ => Key::KindMaterial,
    })
}

pub fn kind_class(kind: &str) -> &'static str {
    match kind {
        "time" => "bar-time",
        "equipment" => "bar-equipment",
        "data" => "bar-data",
        _ => "bar-other",
    }
}

/// A list answer's items.
pub fn items(list: &Value) -> &[Value] {
    items_of(&list["items"])
}

pub fn items_of(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
}

pub fn str_of(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// An amount of the API (a decimal string) as a decimal; zero if absent.
pub fn decimal(value: &Value) -> Decimal {
    str_of(value).parse().unwrap_or_default()
}
