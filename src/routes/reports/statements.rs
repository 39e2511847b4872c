//! statements/{agent_id}.csv: a contributor's statement in one project:
//! their contributions with values, then the money side from the ledger
//! (distributions earned, payouts received, reversals) with the balance
//! still owed after each, then the totals.

use actix_web::{HttpResponse, get, web};
use commons_ledger_macros::operation;
use utoipa_actix_web::service_config::ServiceConfig;

use super::pages::each_contribution_page;
use super::{
    CsvOut, Halt, Period, PeriodQuery, STATEMENT_COLUMNS, adjustment_lines, balance_before,
    csv_download, each_movement, file_name,
};
use crate::db::accounts::AccountRow;
use crate::db::contributions::ContributionFilter;
use crate::db::{self, Database};
use crate::domain::access::Action;
use crate::domain::reports::Units;
use crate::domain::reports::adjustments::StatementAdjustments;
use crate::domain::reports::statement::Statement;
use crate::http::call::ProjectCall;
use crate::http::codes::Resource;
use crate::http::problem::{ApiError, Problem};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(export_statement_csv);
}

/// Download a contributor's statement
///
/// A contributor's statement as CSV, for a period (`from`, `to`). One's own for
/// any member; anyone's for owners, treasurers and auditors.
#[operation(get "/projects/{project_id}/reports/statements/{agent_id}.csv", tag = "reports",
    public, params(id "agent_id" "The contributor", PeriodQuery),
    responses(
        (status = 200, description = "RFC 4180 CSV, UTF-8, with a header row; columns in docs/reports.md", content_type = "text/csv", body = String),
        400 "Invalid `from` or `to`, or `adjustments` without `to`",
        403 "`forbidden`: contributors see only their own",
        404 "`project_not_found` or `agent_not_found`",
    ))]
pub async fn export_statement_csv(
    call: ProjectCall,
    path: web::Path<(String, String)>,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, ApiError> {
    let (_, agent_id) = path.into_inner();
    let (period, adjusted) = query.parse()?;
    let state = call.state.clone();
    let reader = agent_id.clone();
    let (project, agent, account) = call
        .read_as(
            move |caller| Action::ReadValueAccount {
                own: caller.agent().is_some_and(|me| me.id == reader.as_str()),
            },
            move |conn, _, project| {
                let agent = db::agents::find(conn, &agent_id)?
                    .ok_or(ApiError::NotFound(Resource::Agent))?;
                let account = match crate::domain::managed::contributor(&agent_id) {
                    Ok(name) => db::accounts::find(conn, &project.id, name.as_str())?,
                    Err(_) => None,
                };
                Ok((project.clone(), agent, account))
            },
        )
        .await?;
    let snapshot = project.last_sequence;
    let name = file_name(
        &project.name,
        &format!("statement-{}", agent.name),
        &period,
        "csv",
    );
    let subject = (project.id.to_string(), agent.id.to_string(), account);
    Ok(csv_download(
        state.db.clone(),
        &name,
        &STATEMENT_COLUMNS,
        move |db, out| write_statement(db, out, &subject, (&period, adjusted), snapshot),
    ))
}

/// The statement's rows: the contributor's contributions of the period,
/// then the money on their account (if they have one) and, with an
/// adjustments date, the adjustments after closing.
fn write_statement(
    db: &Database,
    out: &mut CsvOut<'_>,
    (project_id, agent_id, account): &(String, String, Option<AccountRow>),
    (period, adjusted): (&Period, Option<chrono::NaiveDate>),
    snapshot: i64,
) -> Result<(), Halt> {
    let mut statement = Statement::default();
    let filter = ContributionFilter {
        agent: Some(agent_id.clone()),
        from: period.from,
        to: period.to,
        ..ContributionFilter::default()
    };
    let units = contribution_rows(db, out, &mut statement, project_id, &filter)?;
    // The money side: postings on the contributor's account.
    let Some(account) = account else {
        return Ok(());
    };
    let owed = money_rows(db, out, statement, account, period, snapshot, &units)?;
    match adjusted {
        Some(to) => adjustment_rows(db, out, account, (period.from, to), owed, snapshot),
        None => Ok(()),
    }
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
    out.lines(statement.approved_totals(&last_units))?;
    Ok(last_units)
}

/// The postings on the contributor's account within the period, after the
/// balance owed before it (with `from`), then the totals and the balance
/// owed at its end, which it gives.
fn money_rows(
    db: &Database,
    out: &mut CsvOut<'_>,
    mut statement: Statement,
    account: &AccountRow,
    period: &Period,
    snapshot: i64,
    units: &Units,
) -> Result<i128, Halt> {
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
    out.lines(statement.closing(&account.name, period.to, currency, units))?;
    Ok(statement.owed)
}

/// The adjustments of the period (`from`, through `to`) on the
/// contributor's account, read up to the snapshot: a heading, each posting
/// by one with the balance owed running on from `owed`, then their totals.
fn adjustment_rows(
    db: &Database,
    out: &mut CsvOut<'_>,
    account: &AccountRow,
    period: (Option<chrono::NaiveDate>, chrono::NaiveDate),
    owed: i128,
    snapshot: i64,
) -> Result<(), Halt> {
    let currency = &account.currency;
    out.row(StatementAdjustments::heading(&account.name, period.1, currency).cells())?;
    let mut adjustments = StatementAdjustments::new(owed);
    let units = adjustment_lines(db, out, account, (period, snapshot), |movement, units| {
        adjustments.movement(movement, units)
    })?;
    out.lines(adjustments.closing(&account.name, currency, &units))
}
