//! grants/{grant_id}.csv: a funder's view of one grant. Money received,
//! spent by category (with the funder's cost category), distributed by run,
//! and what remains, from the ledger's postings on the grant's pool; then
//! the in-kind contributions of the grant's period, valued with their named
//! methods. Cash and in-kind are kept in separate columns.

use std::collections::{BTreeMap, HashMap};

use actix_web::{HttpResponse, get, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::contributions::{funder_categories, in_kind_category};
use super::{
    Column, CsvOut, EXPORT_PAGE_ROWS, Halt, Period, PeriodQuery, download, file_name, money,
};
use crate::auth::Credentials;
use crate::db::contributions::ContributionFilter;
use crate::db::transactions::TransactionFilter;
use crate::db::{self};
use crate::domain::access::Action;
use crate::routes::access;
use crate::routes::codes::Resource;
use crate::routes::openapi::{GrantNotFound, Unauthenticated};
use crate::routes::problem::{ApiError, Problem};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(export_grant_csv);
}

/// Columns of a grant report, in order.
pub const GRANT_COLUMNS: [Column; 12] = [
    Column::text("section"),
    Column::text("date"),
    Column::text("reference"),
    Column::text("transaction_id"),
    Column::text("description"),
    Column::text("category"),
    Column::text("funder_category"),
    Column::text("contributor"),
    Column::text("method"),
    Column::number("cash"),
    Column::number("in_kind"),
    Column::text("currency"),
];

/// A grant report: its rows, sections and totals are listed in
/// docs/reports.md. `from` and `to` narrow the rows to a period; the
/// `opening` line then carries the pool's balance before it, so opening plus
/// the movements still equals `remaining`.
#[utoipa::path(
    tag = "reports",
    operation_id = "export_grant_csv",
    params(
        ("grant_id" = String, Path, format = Uuid, description = "Grant id"),
        PeriodQuery,
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "RFC 4180 CSV, UTF-8, with a header row; columns in docs/reports.md", content_type = "text/csv", body = String),
        (status = 400, description = "Invalid `from` or `to`", body = Problem, content_type = "application/problem+json"),
        Unauthenticated, GrantNotFound,
    )
)]
#[get("/projects/{project_id}/reports/grants/{grant_id}.csv")]
pub async fn export_grant_csv(
    state: web::Data<AppState>,
    credentials: Credentials,
    path: web::Path<(String, String)>,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, ApiError> {
    let (project_id, grant_id) = path.into_inner();
    let period = Period::parse(query.from.as_deref(), query.to.as_deref())?;
    let (project, grant, pool, categories) = crate::routes::read(&state, move |conn| {
        let project = access::project_for(conn, &credentials, &project_id, Action::ReadLedger)?.1;
        let grant = db::funds::grant(conn, &project.id, &grant_id)?
            .ok_or(ApiError::NotFound(Resource::Grant))?;
        let pool = db::accounts::find(conn, &project.id, &grant.pool_account)?
            .ok_or_else(|| ApiError::internal("grant pool missing"))?;
        let categories = funder_categories(conn, &project.id)?;
        Ok((project, grant, pool, categories))
    })
    .await?;
    let snapshot = project.last_sequence;
    let filter = TransactionFilter {
        from: period.from,
        to: period.to,
        account_id: Some(pool.id.clone()),
        kind: None,
        until_sequence: Some(snapshot),
    };
    let name = file_name(
        &project.name,
        &format!("grant-{}", grant.reference),
        &period,
        "csv",
    );
    Ok(download(
        state.db.clone(),
        "text/csv; charset=utf-8",
        &name,
        move |db, sink| {
            let mut out = CsvOut::new(sink, &GRANT_COLUMNS)?;
            let shared = grant.restriction.is_none();
            let units = db.read(crate::routes::stored_units)?;
            let cash = |minor: i128| money(&units, &grant.currency, minor);
            let mut totals = Totals::default();
            if let Some(from) = period.from {
                let opening = db.read(|conn| -> Result<i128, ApiError> {
                    Ok(db::transactions::balance_before(
                        conn, &pool.id, from, snapshot,
                    )?)
                })?;
                out.row(section_row(
                    "opening",
                    &from.to_string(),
                    &pool.name,
                    "the pool's balance before the period",
                    &cash(opening),
                    &grant.currency,
                ))?;
                totals.opening = opening;
            }
            super::movements::each_page(
                db,
                &project.id,
                &pool.name,
                &filter,
                |_, movements, linked| {
                    for m in movements {
                        let signed = i128::from(m.signed);
                        let (section, reference, category, amount) = match m.kind.as_str() {
                            "grant" | "donation" if !shared || m.source == grant.transaction_id => {
                                totals.received += signed;
                                ("received", grant.reference.clone(), String::new(), signed)
                            }
                            "expense" => {
                                totals.spent -= signed;
                                let category = linked
                                    .expenses
                                    .get(&m.source)
                                    .map(|e| e.category.clone())
                                    .unwrap_or_default();
                                *totals.by_category.entry(category.clone()).or_default() -= signed;
                                let reference = linked
                                    .expenses
                                    .get(&m.source)
                                    .map(|e| e.supplier.clone())
                                    .unwrap_or_default();
                                ("spent", reference, category, -signed)
                            }
                            "distribution" => {
                                totals.distributed -= signed;
                                let run = linked
                                    .runs
                                    .get(&m.source)
                                    .map(|r| r.id.clone())
                                    .unwrap_or_default();
                                *totals.by_run.entry(run.clone()).or_default() -= signed;
                                ("distributed", run, String::new(), -signed)
                            }
                            _ => {
                                totals.other += signed;
                                let reference = linked
                                    .grants
                                    .get(&m.source)
                                    .map(|g| g.reference.clone())
                                    .unwrap_or_else(|| m.counter.clone());
                                ("other", reference, String::new(), signed)
                            }
                        };
                        let description = if m.reversal {
                            format!("reversal: {}", m.description)
                        } else {
                            m.description.clone()
                        };
                        // Who or what received a distribution.
                        let recipient = if section == "distributed" {
                            m.counter.as_str()
                        } else {
                            ""
                        };
                        out.row([
                            section,
                            &m.date.to_string(),
                            &reference,
                            &m.transaction_id,
                            &description,
                            &category,
                            categories.get(&category).map_or("", String::as_str),
                            recipient,
                            "",
                            &cash(amount),
                            "",
                            &m.currency,
                        ])?;
                    }
                    Ok(())
                },
            )?;
            for (category, spent) in &totals.by_category {
                out.row([
                    "spent_by_category",
                    "",
                    "",
                    "",
                    "",
                    category,
                    categories.get(category).map_or("", String::as_str),
                    "",
                    "",
                    &cash(*spent),
                    "",
                    &grant.currency,
                ])?;
            }
            for (run, distributed) in &totals.by_run {
                out.row([
                    "distributed_by_run",
                    "",
                    run,
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    &cash(*distributed),
                    "",
                    &grant.currency,
                ])?;
            }
            let remaining =
                totals.opening + totals.received - totals.spent - totals.distributed + totals.other;
            let end = period.to.map(|d| d.to_string()).unwrap_or_default();
            for (section, amount, text) in [
                (
                    "total_received",
                    totals.received,
                    "received, net of reversals",
                ),
                (
                    "total_spent",
                    totals.spent,
                    "paid as expenses, net of reversals",
                ),
                (
                    "total_distributed",
                    totals.distributed,
                    "distributed to contributors and accounts, net of reversals",
                ),
                (
                    "total_other",
                    totals.other,
                    "other movements of the pool (other income of a shared pool, transfers)",
                ),
                (
                    "remaining",
                    remaining,
                    "opening + received - spent - distributed + other",
                ),
            ] {
                out.row(section_row(
                    section,
                    &end,
                    &pool.name,
                    text,
                    &cash(amount),
                    &grant.currency,
                ))?;
            }
            in_kind_rows(db, &project.id, &grant, &period, &categories, &mut out)?;
            out.finish()
        },
    ))
}

#[derive(Default)]
struct Totals {
    opening: i128,
    received: i128,
    spent: i128,
    distributed: i128,
    other: i128,
    by_category: BTreeMap<String, i128>,
    by_run: BTreeMap<String, i128>,
}

fn section_row<'a>(
    section: &'a str,
    date: &'a str,
    reference: &'a str,
    description: &'a str,
    cash: &'a str,
    currency: &'a str,
) -> [&'a str; 12] {
    [
        section,
        date,
        reference,
        "",
        description,
        "",
        "",
        "",
        "",
        cash,
        "",
        currency,
    ]
}

/// The approved contributions dated within the grant's period (and the
/// asked one), valued with their named methods, and their total per currency.
fn in_kind_rows(
    db: &crate::db::Database,
    project_id: &str,
    grant: &crate::db::funds::GrantRow,
    period: &Period,
    categories: &HashMap<String, String>,
    out: &mut CsvOut<'_>,
) -> Result<(), Halt> {
    let period = period.within(grant.period_start, grant.period_end);
    if period.is_empty() {
        return Ok(());
    }
    let filter = ContributionFilter {
        status: Some("approved".to_owned()),
        from: period.from,
        to: period.to,
        ..ContributionFilter::default()
    };
    let replaced: std::collections::HashSet<String> = db
        .read(|conn| -> Result<_, ApiError> { Ok(db::contributions::replaced(conn, project_id)?) })?
        .into_iter()
        .collect();
    let mut totals: BTreeMap<String, i128> = BTreeMap::new();
    let mut methods: HashMap<String, String> = HashMap::new();
    let mut after: Option<String> = None;
    let mut units = HashMap::new();
    loop {
        let rows = db.read(|conn| -> Result<_, ApiError> {
            units = crate::routes::stored_units(conn)?;
            let rows = db::contributions::list(
                conn,
                project_id,
                &filter,
                after.as_deref(),
                EXPORT_PAGE_ROWS,
            )?;
            for row in &rows {
                if let Some(rate_id) = &row.rate_id
                    && !methods.contains_key(rate_id)
                    && let Some(rate) = db::rates::find(conn, rate_id)?
                {
                    methods.insert(rate_id.clone(), rate.method);
                }
            }
            Ok(rows)
        })?;
        let Some(last) = rows.last().map(|r| r.id.clone()) else {
            break;
        };
        for row in rows.iter().filter(|r| !replaced.contains(&r.id)) {
            let (Some(value), Some(currency)) = (row.value, &row.currency) else {
                continue;
            };
            *totals.entry(currency.clone()).or_default() += i128::from(value);
            let category = in_kind_category(&row.kind);
            let quantity = crate::domain::contribution::QuantityUnit::parse(&row.unit).map_or_else(
                || row.quantity.to_string(),
                |u| u.format_quantity(row.quantity),
            );
            out.row([
                "in_kind",
                &row.date.to_string(),
                &row.id,
                "",
                &format!("{} {quantity} {}", row.kind, row.unit),
                &category,
                categories.get(&category).map_or("", String::as_str),
                &row.agent_id,
                row.rate_id
                    .as_ref()
                    .and_then(|id| methods.get(id))
                    .map_or("", String::as_str),
                "",
                &money(&units, currency, i128::from(value)),
                currency,
            ])?;
        }
        if i64::try_from(rows.len()).unwrap_or(0) < EXPORT_PAGE_ROWS {
            break;
        }
        after = Some(last);
    }
    for (currency, total) in totals {
        out.row([
            "total_in_kind",
            "",
            "",
            "",
            "approved in-kind contributions of the grant's period",
            "",
            "",
            "",
            "",
            "",
            &money(&units, &currency, total),
            &currency,
        ])?;
    }
    Ok(())
}
