//! statements/{agent_id}.csv: a contributor's statement in one project:
//! their contributions with values, then the money side from the ledger
//! (distributions earned, payouts received, reversals) with the balance
//! still owed after each, then the totals.

use actix_web::{HttpResponse, get, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::pages::each_contribution_page;
use super::{
    CsvOut, Halt, Period, PeriodQuery, STATEMENT_COLUMNS, balance_before, csv_download,
    each_movement, file_name,
};
use crate::db::accounts::AccountRow;
use crate::db::contributions::ContributionFilter;
use crate::db::{self, Database};
use crate::domain::access::Action;
use crate::domain::reports::Units;
use crate::domain::reports::statement::Statement;
use crate::http::access::{self, Caller};
use crate::http::call::ProjectCall;
use crate::http::codes::Resource;
use crate::http::problem::{ApiError, Problem};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(export_statement_csv);
}

/// A contributor's statement: their own for any member; anyone's for
/// owners, treasurers and auditors.
#[utoipa::path(
    tag = "reports",
    params(
        ("agent_id" = String, Path, format = Uuid, description = "The contributor"),
        PeriodQuery,
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "RFC 4180 CSV, UTF-8, with a header row; columns in docs/reports.md", content_type = "text/csv", body = String),
        (status = 400, description = "Invalid `from` or `to`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: contributors see only their own", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`project_not_found` or `agent_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project_id}/reports/statements/{agent_id}.csv")]
pub async fn export_statement_csv(
    call: ProjectCall,
    path: web::Path<(String, String)>,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, ApiError> {
    let (_, agent_id) = path.into_inner();
    let period = Period::parse(query.from.as_deref(), query.to.as_deref())?;
    let ProjectCall {
        state,
        credentials,
        project_id,
    } = call;
    let (project, agent, account) = crate::routes::read(&state, move |conn| {
        let caller = Caller::resolve(conn, &credentials)?;
        let own = caller.agent().is_some_and(|me| me.id == agent_id.as_str());
        let project =
            access::authorize(conn, &caller, &project_id, Action::ReadValueAccount { own })?;
        let agent =
            db::agents::find(conn, &agent_id)?.ok_or(ApiError::NotFound(Resource::Agent))?;
        let account = match crate::domain::managed::contributor(&agent_id) {
            Ok(name) => db::accounts::find(conn, &project.id, name.as_str())?,
            Err(_) => None,
        };
        Ok((project, agent, account))
    })
    .await?;
    let snapshot = project.last_sequence;
    let name = file_name(
        &project.name,
        &format!("statement-{}", agent.name),
        &period,
        "csv",
    );
    Ok(csv_download(
        state.db.clone(),
        &name,
        &STATEMENT_COLUMNS,
        move |db, out| {
            let mut statement = Statement::default();
            let filter = ContributionFilter {
                agent: Some(agent.id.to_string()),
                from: period.from,
                to: period.to,
                ..ContributionFilter::default()
            };
            let units = contribution_rows(db, out, &mut statement, &project.id, &filter)?;
            // The money side: postings on the contributor's account.
            match account {
                Some(account) => {
                    money_rows(db, out, statement, &account, &period, snapshot, &units)
                }
                None => Ok(()),
            }
        },
    ))
}

/// The contributor's contributions and their approved value per currency;
/// gives the units last read.
fn contribution_rows(
    db: &Database,
    out: &mut CsvOut<'_>,
    statement: &mut Statement,
    project_id: &str,
    filter: &ContributionFilter,
) -> Result<Units, Halt> {
    let mut last_units = db.read(crate::routes::stored_units)?;
    each_contribution_page(db, project_id, filter, |units, entries| {
        last_units.clone_from(units);
        entries
            .iter()
            .try_for_each(|entry| out.row(statement.contribution(entry, units).cells()))
    })?;
    for line in statement.approved_totals(&last_units) {
        out.row(line.cells())?;
    }
    Ok(last_units)
}

/// The postings on the contributor's account within the period, after the
/// balance owed before it (with `from`), then the totals and the balance
/// owed at its end.
fn money_rows(
    db: &Database,
    out: &mut CsvOut<'_>,
    mut statement: Statement,
    account: &AccountRow,
    period: &Period,
    snapshot: i64,
    units: &Units,
) -> Result<(), Halt> {
    let currency = &account.currency;
    if let Some(from) = period.from {
        let owed = balance_before(db, account, from, snapshot)?;
        out.row(statement.opening(from, owed, currency, units).cells())?;
    }
    each_movement(db, account, period, snapshot, |units, movements| {
        movements
            .iter()
            .try_for_each(|movement| out.row(statement.movement(movement, units).cells()))
    })?;
    let closing = statement.closing(&account.name, period.to, currency, units);
    closing.iter().try_for_each(|line| out.row(line.cells()))
}
