//! distributions/{distribution_id}.csv: one line per recipient of a run,
//! with its basis, share, amount, rounding adjustment and explanation; the
//! residue on its own line. A run's plan is bounded (it is one JSON
//! document already), so this report is built whole.

use actix_web::{HttpResponse, get, web};
use commons_ledger_macros::operation;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{DISTRIBUTION_COLUMNS, Period, csv_download, enum_text, file_name};
use crate::domain::access::Action;
use crate::domain::reports::distribution::{RunFacts, Share};
use crate::http::call::ProjectCall;
use crate::http::openapi::DistributionNotFound;
use crate::http::problem::ApiError;
use crate::routes::distributions::find_distribution;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(export_distribution_csv);
}

/// Download a run's statement
///
/// A distribution run's statement as CSV: every account transfer and recipient
/// line with why, then the residue; the amounts add up to the run's amount
/// exactly.
#[operation(get "/projects/{project_id}/reports/distributions/{distribution_id}.csv",
    tag = "reports", public, params(id "distribution_id" "Distribution run id"),
    responses(
        (status = 200, description = "RFC 4180 CSV, UTF-8, with a header row; columns in docs/reports.md", content_type = "text/csv", body = String),
        DistributionNotFound,
    ))]
pub async fn export_distribution_csv(
    call: ProjectCall,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    let db = call.state.db.clone();
    let (project, run) = call
        .read(Action::ReadLedger, move |conn, _, project| {
            Ok((project.clone(), find_distribution(conn, project, &id)?))
        })
        .await?;
    let period = Period::parse(Some(&run.period_from), Some(&run.period_to))?;
    let name = file_name(&project.name, "distribution", &period, "csv");
    Ok(csv_download(
        db,
        &name,
        &DISTRIBUTION_COLUMNS,
        move |_, out| {
            let status = enum_text(&run.status);
            let facts = RunFacts {
                id: &run.id,
                status: &status,
                period_from: &run.period_from,
                period_to: &run.period_to,
                currency: &run.currency,
            };
            for transfer in &run.transfers {
                let line = facts.transfer(transfer.step, &transfer.account, &transfer.amount);
                out.row(line.cells())?;
            }
            for share in &run.lines {
                let line = facts.recipient(&Share {
                    step: share.step,
                    agent: &share.agent,
                    basis: &share.basis,
                    share_percent: &share.share_percent,
                    amount: &share.amount,
                    rounding_adjustment: &share.rounding_adjustment,
                    capped_by: &share.capped_by,
                    explanation: &share.explanation,
                });
                out.row(line.cells())?;
            }
            out.row(
                facts
                    .residue(&run.residue, &run.residue_destination)
                    .cells(),
            )
        },
    ))
}
