//! journal.csv (two rows per posting) and journal.hledger (the whole
//! journal in hledger's syntax, closed by balance assertions).

use actix_web::{HttpResponse, get, web};
use commons_ledger_macros::operation;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::pages::each_entry_page;
use super::{
    CsvOut, Halt, JOURNAL_COLUMNS, Period, Sink, csv_download, download, file_name, period_adjusted,
};
use crate::db::accounts::AccountRow;
use crate::db::projects::Project;
use crate::db::transactions::TransactionFilter;
use crate::db::{self, Database, DbConnection};
use crate::domain::access::Action;
use crate::domain::reports::adjustments::JournalAdjustments;
use crate::domain::reports::hledger::HledgerJournal;
use crate::domain::reports::journal::journal_lines;
use crate::http::call::ProjectCall;
use crate::http::codes::Resource;
use crate::http::problem::{ApiError, Problem};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(export_journal_csv)
        .service(export_journal_hledger);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JournalQuery {
    /// Earliest effective date, inclusive (`YYYY-MM-DD`).
    #[param(format = Date, max_length = 10)]
    pub from: Option<String>,
    /// Latest effective date, inclusive (`YYYY-MM-DD`).
    #[param(format = Date, max_length = 10)]
    pub to: Option<String>,
    /// Only transactions touching this account (by name).
    #[param(max_length = 200)]
    pub account: Option<String>,
    /// Only transactions touching this grant's pool.
    #[param(format = Uuid, max_length = 36)]
    pub grant: Option<String>,
    /// Only transactions touching this funder's account (`funder:<agent id>`,
    /// or `funder:<agent id>:<currency>` for a funder who gave only in
    /// another currency than the project's; for one who gave in several, use
    /// `account` with each of its accounts).
    #[param(format = Uuid, max_length = 36)]
    pub funder: Option<String>,
    /// After the journal, a separate section listing the adjustments after
    /// closing: transactions dated after `to` that reverse one dated in the
    /// period (with the same narrowing), then their totals per account.
    /// Needs `to`. Default: false (the journal alone, unchanged by anything
    /// dated after `to`).
    pub adjustments: Option<bool>,
}

impl JournalQuery {
    /// The account the journal is narrowed to, if any: at most one of
    /// `account`, `grant` and `funder`, each within its length limit.
    fn scope(&self) -> Result<Option<Scope<'_>>, ApiError> {
        use crate::http::limits::{ID_LENGTH_MAX, check_query};
        let account_length_max = crate::domain::account::ACCOUNT_NAME_LENGTH_MAX;
        check_query("account", self.account.as_deref(), account_length_max)?;
        check_query("grant", self.grant.as_deref(), ID_LENGTH_MAX)?;
        check_query("funder", self.funder.as_deref(), ID_LENGTH_MAX)?;
        let scopes = [
            self.account.as_deref().map(Scope::Account),
            self.grant.as_deref().map(Scope::Grant),
            self.funder.as_deref().map(Scope::Funder),
        ];
        let mut given = scopes.into_iter().flatten();
        let scope = given.next();
        if given.next().is_some() {
            return Err(ApiError::InvalidQuery(
                "give at most one of `account`, `grant` and `funder`".to_owned(),
            ));
        }
        Ok(scope)
    }
}

/// What a journal is narrowed to.
#[derive(Debug, Clone, Copy)]
enum Scope<'a> {
    Account(&'a str),
    Grant(&'a str),
    Funder(&'a str),
}

impl Scope<'_> {
    /// The project's account the scope names.
    fn account(self, conn: &mut DbConnection, project: &Project) -> Result<AccountRow, ApiError> {
        let name = match self {
            Scope::Account(name) => name.to_owned(),
            Scope::Grant(grant) => super::find_grant(conn, project, grant)?.pool_account,
            Scope::Funder(funder) => {
                // A funder who gave only in another currency has only
                // `funder:<id>:<currency>`; one who gave in several is
                // narrowed to each with `account`.
                let name = format!("funder:{funder}");
                match db::accounts::find(conn, &project.id, &name)? {
                    Some(account) => return Ok(account),
                    None => {
                        db::accounts::under(conn, &project.id, &name)?
                            .into_iter()
                            .next()
                            .ok_or(ApiError::NotFound(Resource::Account))?
                            .name
                    }
                }
            }
        };
        db::accounts::find(conn, &project.id, &name)?.ok_or(ApiError::NotFound(Resource::Account))
    }
}

/// Download the journal as CSV
///
/// The journal as CSV: two rows per posting, one for each account it touches
/// (debit for the account receiving, credit for the one sending), with that
/// account's running balance after the posting. Streamed: its memory does not
/// grow with the ledger.
#[operation(get "/projects/{project_id}/reports/journal.csv", tag = "reports", public,
    params(JournalQuery),
    responses(
        (status = 200, description = "RFC 4180 CSV, UTF-8, with a header row; columns in docs/reports.md", content_type = "text/csv", body = String),
        400 "Invalid `from` or `to`, more than one of `account`, `grant`, `funder`, or `adjustments` without `to`",
        404 "`project_not_found`, `account_not_found` or `grant_not_found`",
    ))]
pub async fn export_journal_csv(
    call: ProjectCall,
    query: web::Query<JournalQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let (period, adjusted) = period_adjusted(
        query.from.as_deref(),
        query.to.as_deref(),
        query.adjustments,
    )?;
    query.scope()?;
    let db = call.state.db.clone();
    let (project, account) = call
        .read(Action::ReadLedger, move |conn, _, project| {
            let account = match query.scope()? {
                Some(scope) => Some(scope.account(conn, project)?),
                None => None,
            };
            Ok((project.clone(), account))
        })
        .await?;
    let filter = TransactionFilter {
        from: period.from,
        to: period.to,
        account_id: account.as_ref().map(|a| a.id.clone()),
        until_sequence: Some(project.last_sequence),
        ..TransactionFilter::default()
    };
    let report = match &account {
        Some(account) => format!("journal-{}", account.name),
        None => "journal".to_owned(),
    };
    let name = file_name(&project.name, &report, &period, "csv");
    Ok(csv_download(db, &name, &JOURNAL_COLUMNS, move |db, out| {
        write_journal_csv(db, out, &project.id, &filter)?;
        match adjusted {
            Some(to) => adjustment_rows(db, out, &project.id, &filter, to),
            None => Ok(()),
        }
    }))
}

/// The journal's rows: two per posting of the transactions `filter` keeps.
pub(super) fn write_journal_csv(
    db: &Database,
    out: &mut CsvOut<'_>,
    project_id: &str,
    filter: &TransactionFilter,
) -> Result<(), Halt> {
    each_entry_page(db, project_id, filter, |units, entries| {
        let lines = entries.iter().flat_map(|entry| journal_lines(entry, units));
        lines.into_iter().try_for_each(|line| out.row(line.cells()))
    })
}

/// The adjustments of the journal's period (ending `to`), narrowed as the
/// journal is and read up to its snapshot: a heading, their lines, and the
/// total per account.
fn adjustment_rows(
    db: &Database,
    out: &mut CsvOut<'_>,
    project_id: &str,
    journal: &TransactionFilter,
    to: chrono::NaiveDate,
) -> Result<(), Halt> {
    let mut adjustments = JournalAdjustments::new(to);
    out.row(adjustments.heading().cells())?;
    let filter = TransactionFilter {
        account_id: journal.account_id.clone(),
        until_sequence: journal.until_sequence,
        adjusting: Some((journal.from, to)),
        ..TransactionFilter::default()
    };
    each_entry_page(db, project_id, &filter, |units, entries| {
        let lines: Vec<_> = entries
            .iter()
            .flat_map(|entry| adjustments.lines(entry, units))
            .collect();
        lines.into_iter().try_for_each(|line| out.row(line.cells()))
    })?;
    let units = db.read(crate::routes::stored_units)?;
    out.lines(adjustments.totals(&units))
}

/// Download the journal for hledger
///
/// The whole journal in hledger's journal syntax: commodity and account
/// directives, one entry per transaction with its id, kind and sequence as
/// tags, and balance assertions for every account at the end, so `hledger
/// check` proves the export matches the service's balances.
#[operation(get "/projects/{project_id}/reports/journal.hledger", tag = "reports", public,
    responses(
        (status = 200, description = "An hledger journal", content_type = "text/plain", body = String),
    ))]
pub async fn export_journal_hledger(call: ProjectCall) -> Result<HttpResponse, ApiError> {
    let db = call.state.db.clone();
    let (project, export) = call
        .read(Action::ReadLedger, |conn, _, project| {
            Ok((project.clone(), HledgerExport::read(conn, project)?))
        })
        .await?;
    let name = file_name(&project.name, "journal", &Period::default(), "hledger");
    let snapshot = project.last_sequence;
    Ok(download(
        db,
        "text/plain; charset=utf-8",
        &name,
        move |db, sink: Sink<'_>| export.write(db, sink, snapshot),
    ))
}

/// What the hledger journal is made from besides its pages: its header
/// (commodity and account directives) and the journal that folds the
/// entries, read once when the export starts.
pub(super) struct HledgerExport {
    project_id: String,
    header: String,
    journal: HledgerJournal,
    units: crate::domain::reports::Units,
}

impl HledgerExport {
    pub(super) fn read(
        conn: &mut DbConnection,
        project: &Project,
    ) -> Result<HledgerExport, ApiError> {
        let units = crate::routes::stored_units(conn)?;
        let accounts = db::accounts::list(conn, &project.id, None, None, i64::MAX)?;
        let journal = HledgerJournal::new(accounts.into_iter().map(|a| (a.name, a.currency)));
        let header = journal.header(&project.name, &project.id, &project.currency, &units);
        Ok(HledgerExport {
            project_id: project.id.to_string(),
            header,
            journal,
            units,
        })
    }

    /// The whole journal up to `snapshot`, closed by the balances as of it.
    pub(super) fn write(self, db: &Database, sink: Sink<'_>, snapshot: i64) -> Result<(), Halt> {
        let HledgerExport {
            project_id,
            header,
            mut journal,
            units,
        } = self;
        let filter = TransactionFilter {
            until_sequence: Some(snapshot),
            ..TransactionFilter::default()
        };
        sink(header.into_bytes())?;
        each_entry_page(db, &project_id, &filter, |units, entries| {
            sink(journal.entries(entries, units).into_bytes())
        })?;
        // The balances as of the snapshot: the last running balance of each account.
        match journal.closing(&units) {
            Some(closing) => sink(closing.into_bytes()),
            None => Ok(()),
        }
    }
}
