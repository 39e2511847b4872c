//! contributions.csv: every contribution with its valuation, review and the
//! funder cost category it reports under.

use actix_web::{HttpResponse, get, web};
use commons_ledger_macros::operation;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::find_grant;
use super::pages::{each_contribution_page, funder_categories};
use super::{CONTRIBUTION_COLUMNS, Period, csv_download, enum_text, file_name};
use crate::db::contributions::ContributionFilter;
use crate::domain::access::Action;
use crate::domain::reports::contributions::ContributionLine;
use crate::http::call::ProjectCall;
use crate::http::openapi::GrantNotFound;
use crate::http::problem::{ApiError, Problem};
use crate::routes::dto::{ContributionKindDto, ContributionStatusDto};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(export_contributions_csv);
}

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

impl ContributionReportQuery {
    /// `agent` and `grant` are ids (UUIDs).
    fn check_ids(&self) -> Result<(), ApiError> {
        for (name, value) in [("agent", &self.agent), ("grant", &self.grant)] {
            if let Some(value) = value
                && uuid::Uuid::parse_str(value).is_err()
            {
                return Err(ApiError::InvalidQuery(format!(
                    "`{name}` must be an id (UUID)"
                )));
            }
        }
        Ok(())
    }
}

/// Download the contributions report
///
/// Contributions with their valuation as CSV: who, when, what, how much it was
/// worth and by which named method, who reviewed it, under which licence.
#[operation(get "/projects/{project_id}/reports/contributions.csv", tag = "reports", public,
    params(ContributionReportQuery),
    responses(
        (status = 200, description = "RFC 4180 CSV, UTF-8, with a header row; columns in docs/reports.md", content_type = "text/csv", body = String),
        400 "Invalid filter",
        GrantNotFound,
    ))]
pub async fn export_contributions_csv(
    call: ProjectCall,
    query: web::Query<ContributionReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let mut period = Period::parse(query.from.as_deref(), query.to.as_deref())?;
    query.check_ids()?;
    let grant_id = query.grant.clone();
    let db = call.state.db.clone();
    let (project, grant, categories) = call
        .read(Action::ReadLedger, move |conn, _, project| {
            let grant = match &grant_id {
                Some(id) => Some(find_grant(conn, project, id)?),
                None => None,
            };
            let categories = funder_categories(conn, &project.id)?;
            Ok((project.clone(), grant, categories))
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
    Ok(csv_download(
        db,
        &name,
        &CONTRIBUTION_COLUMNS,
        move |db, out| {
            if period.is_empty() {
                // The grant's period and the asked one do not meet.
                return Ok(());
            }
            each_contribution_page(db, &project.id, &filter, |units, entries| {
                entries.iter().try_for_each(|entry| {
                    out.row(ContributionLine::of(entry, &categories, units).cells())
                })
            })
        },
    ))
}
