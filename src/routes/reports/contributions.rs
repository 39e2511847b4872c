//! contributions.csv: every contribution with its valuation, review and the
//! funder cost category it reports under.

use std::collections::HashMap;

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{Column, CsvOut, EXPORT_PAGE_ROWS, Period, download, file_name};
use crate::auth::Credentials;
use crate::db::contributions::{ContributionFilter, ContributionRow};
use crate::db::rates::RateRow;
use crate::db::{self, DbConnection};
use crate::domain::access::Action;
use crate::domain::contribution::QuantityUnit;
use crate::routes::access;
use crate::routes::codes::Resource;
use crate::routes::dto::{ContributionKindDto, ContributionStatusDto};
use crate::routes::openapi::{GrantNotFound, Unauthenticated};
use crate::routes::problem::{ApiError, Problem};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(export_contributions_csv);
}

/// The expense category whose funder category an in-kind contribution of
/// `kind` reports under: `in-kind-time`, `in-kind-equipment`, `in-kind-data`.
pub fn in_kind_category(kind: &str) -> String {
    format!("in-kind-{kind}")
}

/// The funder categories of a project's expense categories, by name.
pub fn funder_categories(
    conn: &mut DbConnection,
    project_id: &str,
) -> Result<HashMap<String, String>, ApiError> {
    Ok(db::funds::categories(conn, project_id)?
        .into_iter()
        .map(|c| (c.name, c.funder_category))
        .collect())
}

/// Columns of contributions.csv, in order.
pub const CONTRIBUTION_COLUMNS: [Column; 22] = [
    Column::text("contribution_id"),
    Column::text("contributor"),
    Column::text("date"),
    Column::text("kind"),
    Column::number("quantity"),
    Column::text("unit"),
    Column::text("description"),
    Column::text("skill"),
    Column::text("equipment"),
    Column::number("rate"),
    Column::text("rate_per"),
    Column::text("method"),
    Column::text("source"),
    Column::number("value"),
    Column::text("currency"),
    Column::text("status"),
    Column::text("reviewers"),
    Column::text("licence"),
    Column::text("evidence"),
    Column::text("funder_category"),
    Column::text("supersedes"),
    Column::text("recorded_at"),
];

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContributionReportQuery {
    /// Earliest contribution date, inclusive (`YYYY-MM-DD`).
    #[param(format = Date, max_length = 10)]
    pub from: Option<String>,
    /// Latest contribution date, inclusive (`YYYY-MM-DD`).
    #[param(format = Date, max_length = 10)]
    pub to: Option<String>,
    /// Only this contributor's.
    #[param(format = Uuid, max_length = 36)]
    pub agent: Option<String>,
    pub kind: Option<ContributionKindDto>,
    pub status: Option<ContributionStatusDto>,
    /// Only contributions dated within this grant's period.
    #[param(format = Uuid, max_length = 36)]
    pub grant: Option<String>,
}

/// Contributions with their valuation: who, when, what, how much it was
/// worth and by which named method, who reviewed it, under which licence.
#[utoipa::path(
    tag = "reports",
    operation_id = "export_contributions_csv",
    params(ContributionReportQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "RFC 4180 CSV, UTF-8, with a header row; columns in docs/reports.md", content_type = "text/csv", body = String),
        (status = 400, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
        Unauthenticated, GrantNotFound,
    )
)]
#[get("/projects/{project_id}/reports/contributions.csv")]
pub async fn export_contributions_csv(
    state: web::Data<AppState>,
    credentials: Credentials,
    path: web::Path<String>,
    query: web::Query<ContributionReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let project_id = path.into_inner();
    let query = query.into_inner();
    let mut period = Period::parse(query.from.as_deref(), query.to.as_deref())?;
    for (name, value) in [("agent", &query.agent), ("grant", &query.grant)] {
        if let Some(value) = value
            && uuid::Uuid::parse_str(value).is_err()
        {
            return Err(ApiError::InvalidQuery(format!(
                "`{name}` must be an id (UUID)"
            )));
        }
    }
    let grant_id = query.grant.clone();
    let (project, grant, categories) = crate::routes::read(&state, move |conn| {
        let project = access::project_for(conn, &credentials, &project_id, Action::ReadLedger)?.1;
        let grant = match &grant_id {
            Some(id) => Some(
                db::funds::grant(conn, &project.id, id)?
                    .ok_or(ApiError::NotFound(Resource::Grant))?,
            ),
            None => None,
        };
        let categories = funder_categories(conn, &project.id)?;
        Ok((project, grant, categories))
    })
    .await?;
    let mut report = "contributions".to_owned();
    if let Some(grant) = &grant {
        // Within the grant's period as well as the asked one.
        period = period.within(grant.period_start, grant.period_end);
        report = format!("contributions-grant-{}", grant.reference);
    }
    let filter = ContributionFilter {
        agent: query.agent,
        kind: query.kind.map(|k| enum_text(&k)),
        status: query.status.map(|s| enum_text(&s)),
        from: period.from,
        to: period.to,
    };
    let name = file_name(&project.name, &report, &period, "csv");
    Ok(download(
        state.db.clone(),
        "text/csv; charset=utf-8",
        &name,
        move |db, sink| {
            let mut out = CsvOut::new(sink, &CONTRIBUTION_COLUMNS)?;
            if period.is_empty() {
                // The grant's period and the asked one do not meet.
                return out.finish();
            }
            let mut rates: HashMap<String, RateRow> = HashMap::new();
            let mut after: Option<String> = None;
            loop {
                let (units, rows, reviews) = db.read(|conn| -> Result<_, ApiError> {
                    let units = crate::routes::stored_units(conn)?;
                    let rows = db::contributions::list(
                        conn,
                        &project.id,
                        &filter,
                        after.as_deref(),
                        EXPORT_PAGE_ROWS,
                    )?;
                    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
                    let mut reviews: HashMap<String, Vec<String>> = HashMap::new();
                    for review in db::contributions::reviews_of(conn, &ids)? {
                        reviews
                            .entry(review.contribution_id)
                            .or_default()
                            .push(format!("{}:{}", review.reviewer_id, review.decision));
                    }
                    for row in &rows {
                        if let Some(rate_id) = &row.rate_id
                            && !rates.contains_key(rate_id)
                            && let Some(rate) = db::rates::find(conn, rate_id)?
                        {
                            rates.insert(rate_id.clone(), rate);
                        }
                    }
                    Ok((units, rows, reviews))
                })?;
                let Some(last) = rows.last().map(|r| r.id.clone()) else {
                    break;
                };
                for row in &rows {
                    let rate = row.rate_id.as_ref().and_then(|id| rates.get(id));
                    write_row(&mut out, &units, &categories, row, rate, &reviews)?;
                }
                if i64::try_from(rows.len()).unwrap_or(0) < EXPORT_PAGE_ROWS {
                    break;
                }
                after = Some(last);
            }
            out.finish()
        },
    ))
}

/// The snake_case name serde gives an enum value.
fn enum_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn write_row(
    out: &mut CsvOut<'_>,
    units: &HashMap<String, crate::domain::Unit>,
    categories: &HashMap<String, String>,
    row: &ContributionRow,
    rate: Option<&RateRow>,
    reviews: &HashMap<String, Vec<String>>,
) -> Result<(), super::Halt> {
    let quantity = QuantityUnit::parse(&row.unit).map_or_else(
        || row.quantity.to_string(),
        |unit| unit.format_quantity(row.quantity),
    );
    let currency = row.currency.clone().unwrap_or_default();
    let value = row
        .value
        .map(|minor| crate::routes::format_minor(units, &currency, minor))
        .unwrap_or_default();
    let evidence = [row.dataset_uri.as_deref(), row.dataset_checksum.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let description = match &row.dataset_title {
        Some(title) if row.description.is_empty() => title.clone(),
        Some(title) => format!("{title}: {}", row.description),
        None => row.description.clone(),
    };
    out.row([
        row.id.as_str(),
        &row.agent_id,
        &row.date.to_string(),
        &row.kind,
        &quantity,
        &row.unit,
        &description,
        row.skill.as_deref().unwrap_or(""),
        row.equipment.as_deref().unwrap_or(""),
        &rate
            .map(|r| crate::routes::format_minor(units, &r.currency, r.rate))
            .unwrap_or_default(),
        rate.map_or("", |r| r.per.as_str()),
        rate.map_or("", |r| r.method.as_str()),
        rate.map_or("", |r| r.source.as_str()),
        &value,
        &currency,
        &row.status,
        &reviews
            .get(&row.id)
            .map(|r| r.join(" "))
            .unwrap_or_default(),
        row.licence.as_deref().unwrap_or(""),
        &evidence,
        categories
            .get(&in_kind_category(&row.kind))
            .map_or("", String::as_str),
        row.supersedes_id.as_deref().unwrap_or(""),
        &db::format_timestamp(row.recorded_at),
    ])
}
