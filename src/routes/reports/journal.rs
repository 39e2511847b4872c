//! journal.csv (two rows per posting) and journal.hledger (the whole
//! journal in hledger's syntax, closed by balance assertions).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{Column, CsvOut, EXPORT_PAGE_ROWS, Halt, Period, Sink, download, file_name};
use crate::auth::Credentials;
use crate::db::transactions::{TransactionFilter, TransactionRecord};
use crate::db::{self, Database};
use crate::domain::Unit;
use crate::domain::access::Action;
use crate::routes::access;
use crate::routes::codes::Resource;
use crate::routes::openapi::{ProjectNotFound, Unauthenticated};
use crate::routes::problem::{ApiError, Problem};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(export_journal_csv)
        .service(export_journal_hledger);
}

/// Columns of journal.csv, in order.
pub const JOURNAL_COLUMNS: [Column; 15] = [
    Column::text("transaction_id"),
    Column::number("sequence"),
    Column::text("kind"),
    Column::text("effective_date"),
    Column::text("recorded_at"),
    Column::text("account"),
    Column::text("counter_account"),
    Column::number("debit"),
    Column::number("credit"),
    Column::text("currency"),
    Column::number("balance"),
    Column::text("description"),
    Column::text("reverses"),
    Column::text("reversed_by"),
    Column::text("hash"),
];

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
    /// Only transactions touching this funder's account (`funder:<agent id>`).
    #[param(format = Uuid, max_length = 36)]
    pub funder: Option<String>,
}

/// Calls `each` with every page of the project's transactions matching
/// `filter`, in ledger order. The page is read in its own short database
/// transaction and handed over after the connection is back in the pool.
pub(super) fn each_page(
    db: &Database,
    project_id: &str,
    filter: &TransactionFilter,
    mut each: impl FnMut(&HashMap<String, Unit>, &[TransactionRecord]) -> Result<(), Halt>,
) -> Result<(), Halt> {
    let mut after = None;
    loop {
        let (units, records) = db.read(|conn| -> Result<_, ApiError> {
            let units = crate::routes::stored_units(conn)?;
            let records =
                db::transactions::list(conn, project_id, filter, after, EXPORT_PAGE_ROWS)?;
            Ok((units, records))
        })?;
        let Some(last) = records.last().map(|r| r.row.sequence) else {
            return Ok(());
        };
        each(&units, &records)?;
        if i64::try_from(records.len()).unwrap_or(0) < EXPORT_PAGE_ROWS {
            return Ok(());
        }
        after = Some(last);
    }
}

/// The journal as CSV: two rows per posting, one for each account it
/// touches (debit for the account receiving, credit for the one sending),
/// with that account's running balance after the posting.
#[utoipa::path(
    tag = "reports",
    operation_id = "export_journal_csv",
    params(JournalQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "RFC 4180 CSV, UTF-8, with a header row; columns in docs/reports.md", content_type = "text/csv", body = String),
        (status = 400, description = "Invalid `from` or `to`, or more than one of `account`, `grant`, `funder`", body = Problem, content_type = "application/problem+json"),
        Unauthenticated,
        (status = 404, description = "`project_not_found`, `account_not_found` or `grant_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project_id}/reports/journal.csv")]
pub async fn export_journal_csv(
    state: web::Data<AppState>,
    credentials: Credentials,
    path: web::Path<String>,
    query: web::Query<JournalQuery>,
) -> Result<HttpResponse, ApiError> {
    let project_id = path.into_inner();
    let query = query.into_inner();
    let period = Period::parse(query.from.as_deref(), query.to.as_deref())?;
    use crate::routes::limits::{ID_LENGTH_MAX, check_query};
    check_query(
        "account",
        query.account.as_deref(),
        crate::domain::account::ACCOUNT_NAME_LENGTH_MAX,
    )?;
    check_query("grant", query.grant.as_deref(), ID_LENGTH_MAX)?;
    check_query("funder", query.funder.as_deref(), ID_LENGTH_MAX)?;
    let scopes = [&query.account, &query.grant, &query.funder];
    if scopes.iter().filter(|s| s.is_some()).count() > 1 {
        return Err(ApiError::InvalidQuery(
            "give at most one of `account`, `grant` and `funder`".to_owned(),
        ));
    }
    let (project, account) = crate::routes::read(&state, move |conn| {
        let project = access::project_for(conn, &credentials, &project_id, Action::ReadLedger)?.1;
        let name = match (&query.account, &query.grant, &query.funder) {
            (Some(account), _, _) => Some(account.clone()),
            (_, Some(grant), _) => Some(
                db::funds::grant(conn, &project.id, grant)?
                    .ok_or(ApiError::NotFound(Resource::Grant))?
                    .pool_account,
            ),
            (_, _, Some(funder)) => Some(format!("funder:{funder}")),
            _ => None,
        };
        let account = match name {
            Some(name) => Some(
                db::accounts::find(conn, &project.id, &name)?
                    .ok_or(ApiError::NotFound(Resource::Account))?,
            ),
            None => None,
        };
        Ok((project, account))
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
    Ok(download(
        state.db.clone(),
        "text/csv; charset=utf-8",
        &name,
        move |db, sink| {
            let mut out = CsvOut::new(sink, &JOURNAL_COLUMNS)?;
            each_page(db, &project.id, &filter, |units, records| {
                write_rows(&mut out, units, records)
            })?;
            out.finish()
        },
    ))
}

fn write_rows(
    out: &mut CsvOut<'_>,
    units: &HashMap<String, Unit>,
    records: &[TransactionRecord],
) -> Result<(), Halt> {
    for record in records {
        let row = &record.row;
        let sequence = row.sequence.to_string();
        let date = row.effective_date.to_string();
        let recorded_at = db::format_timestamp(row.recorded_at);
        for posting in &record.postings {
            let money = |minor: i64| crate::routes::format_minor(units, &posting.currency, minor);
            let amount = money(posting.amount);
            let sides = [
                (
                    &posting.to,
                    &posting.from,
                    amount.as_str(),
                    "",
                    posting.to_balance_after,
                ),
                (
                    &posting.from,
                    &posting.to,
                    "",
                    amount.as_str(),
                    posting.from_balance_after,
                ),
            ];
            for (account, counter, debit, credit, balance) in sides {
                out.row([
                    row.id.as_str(),
                    &sequence,
                    &row.kind,
                    &date,
                    &recorded_at,
                    account,
                    counter,
                    debit,
                    credit,
                    &posting.currency,
                    &money(balance),
                    &row.description,
                    row.reverses_id.as_deref().unwrap_or(""),
                    record.reversed_by.as_deref().unwrap_or(""),
                    &row.hash,
                ])?;
            }
        }
    }
    Ok(())
}

/// The whole journal in hledger's journal syntax: commodity and account
/// directives, one entry per transaction with its id, kind and sequence as
/// tags, and balance assertions for every account at the end, so
/// `hledger check` proves the export matches the service's balances.
#[utoipa::path(
    tag = "reports",
    operation_id = "export_journal_hledger",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "An hledger journal", content_type = "text/plain", body = String),
        Unauthenticated, ProjectNotFound,
    )
)]
#[get("/projects/{project_id}/reports/journal.hledger")]
pub async fn export_journal_hledger(
    state: web::Data<AppState>,
    credentials: Credentials,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let project_id = path.into_inner();
    let (project, units, accounts) = crate::routes::read(&state, move |conn| {
        let project = access::project_for(conn, &credentials, &project_id, Action::ReadLedger)?.1;
        let units = crate::routes::stored_units(conn)?;
        let accounts = db::accounts::list(conn, &project.id, None, None, i64::MAX)?;
        Ok((project, units, accounts))
    })
    .await?;
    let mut header = format!(
        "; commons-ledger journal of project {} ({})\n; amounts are exact; balance assertions close the file\n\n",
        one_line(&project.name),
        project.id
    );
    // Only this project's units (its currency and its accounts'), never
    // the others recorded on the instance: an export reveals nothing of
    // other projects.
    let mut codes: BTreeSet<&str> = accounts.iter().map(|a| a.currency.as_str()).collect();
    codes.insert(project.currency.as_str());
    for code in codes {
        let Ok(unit) = crate::routes::resolve_unit(&units, code) else {
            continue;
        };
        // A trailing point tells hledger a whole-number unit has no decimals.
        let sample = unit.format_minor(100_000);
        let point = if unit.scale() == 0 { "." } else { "" };
        header.push_str(&format!("commodity {sample}{point} {code}\n"));
    }
    header.push('\n');
    // Every account, with its currency and the balance it closes on.
    let mut closing: BTreeMap<String, (String, i64)> = BTreeMap::new();
    for account in accounts {
        header.push_str(&format!("account {}\n", account.name));
        closing.insert(account.name, (account.currency, 0));
    }
    header.push('\n');
    let filter = TransactionFilter {
        until_sequence: Some(project.last_sequence),
        ..TransactionFilter::default()
    };
    let name = file_name(&project.name, "journal", &Period::default(), "hledger");
    Ok(download(
        state.db.clone(),
        "text/plain; charset=utf-8",
        &name,
        move |db, sink: Sink<'_>| {
            sink(header.into_bytes())?;
            let mut last_date = None;
            each_page(db, &project.id, &filter, |units, records| {
                for record in records {
                    last_date = last_date.max(Some(record.row.effective_date));
                    for posting in &record.postings {
                        for (account, balance) in [
                            (&posting.to, posting.to_balance_after),
                            (&posting.from, posting.from_balance_after),
                        ] {
                            if let Some(entry) = closing.get_mut(account) {
                                entry.1 = balance;
                            }
                        }
                    }
                }
                sink(render_hledger(units, records).into_bytes())
            })?;
            // The balances as of the snapshot: the last running balance of each account.
            let Some(date) = last_date else {
                return Ok(());
            };
            let mut out = format!("{date} closing balance assertions\n");
            for (account, (currency, balance)) in &closing {
                let zero = crate::routes::format_minor(&units, currency, 0);
                let balance = crate::routes::format_minor(&units, currency, *balance);
                out.push_str(&format!(
                    "    {account}    {zero} {currency} = {balance} {currency}\n"
                ));
            }
            sink(out.into_bytes())
        },
    ))
}

/// Text on one line, for hledger descriptions and comments.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn render_hledger(units: &HashMap<String, Unit>, records: &[TransactionRecord]) -> String {
    let mut out = String::new();
    for record in records {
        let row = &record.row;
        out.push_str(&format!(
            "{} * {}  ; id:{}, kind:{}, sequence:{}\n",
            row.effective_date,
            one_line(&row.description).replace(';', ","),
            row.id,
            row.kind,
            row.sequence
        ));
        for posting in &record.postings {
            let amount = crate::routes::format_minor(units, &posting.currency, posting.amount);
            out.push_str(&format!(
                "    {}    {amount} {}\n",
                posting.to, posting.currency
            ));
            out.push_str(&format!(
                "    {}    -{amount} {}\n",
                posting.from, posting.currency
            ));
        }
        out.push('\n');
    }
    out
}
