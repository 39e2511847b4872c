//! distributions/{distribution_id}.csv: one line per recipient of a run,
//! with its basis, share, amount, rounding adjustment and explanation; the
//! residue on its own line. A run's plan is bounded (it is one JSON
//! document already), so this report is built whole.

use actix_web::{HttpResponse, get, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::{Column, CsvOut, Period, download, file_name};
use crate::auth::Credentials;
use crate::db;
use crate::domain::access::Action;
use crate::routes::access;
use crate::routes::codes::Resource;
use crate::routes::distributions::to_distribution;
use crate::routes::openapi::{DistributionNotFound, Unauthenticated};
use crate::routes::problem::ApiError;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(export_distribution_csv);
}

/// Columns of a distribution statement, in order.
pub const DISTRIBUTION_COLUMNS: [Column; 14] = [
    Column::text("distribution_id"),
    Column::text("status"),
    Column::text("period_from"),
    Column::text("period_to"),
    Column::number("step"),
    Column::text("recipient_type"),
    Column::text("recipient"),
    Column::number("basis"),
    Column::number("share_percent"),
    Column::number("amount"),
    Column::number("rounding_adjustment"),
    Column::number("capped_by"),
    Column::text("currency"),
    Column::text("explanation"),
];

/// A run's statement: every account transfer and recipient line with why,
/// then the residue; the amounts add up to the run's amount exactly.
#[utoipa::path(
    tag = "reports",
    operation_id = "export_distribution_csv",
    params(
        ("distribution_id" = String, Path, format = Uuid, description = "Distribution run id"),
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "RFC 4180 CSV, UTF-8, with a header row; columns in docs/reports.md", content_type = "text/csv", body = String),
        Unauthenticated, DistributionNotFound,
    )
)]
#[get("/projects/{project_id}/reports/distributions/{distribution_id}.csv")]
pub async fn export_distribution_csv(
    state: web::Data<AppState>,
    credentials: Credentials,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (project_id, id) = path.into_inner();
    let (project, run) = crate::routes::read(&state, move |conn| {
        let project = access::project_for(conn, &credentials, &project_id, Action::ReadLedger)?.1;
        let run = db::distributions::run(conn, &project.id, &id)?
            .ok_or(ApiError::NotFound(Resource::Distribution))?;
        let run = to_distribution(&project, crate::ops::distributions::view(conn, run)?);
        Ok((project, run))
    })
    .await?;
    let period = Period::parse(Some(&run.period_from), Some(&run.period_to))?;
    let name = file_name(&project.name, "distribution", &period, "csv");
    Ok(download(
        state.db.clone(),
        "text/csv; charset=utf-8",
        &name,
        move |_, sink| {
            let mut out = CsvOut::new(sink, &DISTRIBUTION_COLUMNS)?;
            let status = serde_json::to_value(run.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let fixed = [run.id.as_str(), &status, &run.period_from, &run.period_to];
            for transfer in &run.transfers {
                let step = transfer.step.to_string();
                let row = [
                    step.as_str(),
                    "account",
                    &transfer.account,
                    "",
                    "",
                    &transfer.amount,
                    "",
                    "",
                    &run.currency,
                    "a fixed share of the run to a named account",
                ];
                out.row(fixed.iter().copied().chain(row))?;
            }
            for line in &run.lines {
                let step = line.step.to_string();
                let row = [
                    step.as_str(),
                    "agent",
                    &line.agent,
                    &line.basis,
                    &line.share_percent,
                    &line.amount,
                    &line.rounding_adjustment,
                    &line.capped_by,
                    &run.currency,
                    &line.explanation,
                ];
                out.row(fixed.iter().copied().chain(row))?;
            }
            let why = format!(
                "what caps, minimums and rounding left: to {}",
                run.residue_destination
            );
            let row = [
                "",
                "residue",
                &run.residue_destination,
                "",
                "",
                &run.residue,
                "",
                "",
                &run.currency,
                &why,
            ];
            out.row(fixed.iter().copied().chain(row))?;
            out.finish()
        },
    ))
}
