//! `/v1/projects/{project_id}/reports`: exports a funder can check. The
//! journal is streamed page by page from the database through a bounded
//! channel, so memory stays flat whatever the ledger's size.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::web::Bytes;
use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::AppState;
use super::access;
use super::extract::parse_date;
use super::problem::{ApiError, Problem};
use crate::auth::Credentials;
use crate::db::transactions::{TransactionFilter, TransactionRecord};
use crate::db::{self, Database};
use crate::domain::Unit;
use crate::domain::access::Action;

/// Transactions read from the database per page of an export.
const EXPORT_PAGE_TRANSACTIONS: i64 = 500;
/// Pages buffered between the database reader and the client.
const EXPORT_PAGES_BUFFERED: usize = 4;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(export_journal_csv)
        .service(export_journal_hledger);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JournalQuery {
    /// Earliest effective date, inclusive (`YYYY-MM-DD`).
    #[param(format = Date)]
    pub from: Option<String>,
    /// Latest effective date, inclusive (`YYYY-MM-DD`).
    #[param(format = Date)]
    pub to: Option<String>,
}

/// A response body fed by a blocking producer through a bounded channel.
struct ChannelBody(tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl futures_core::Stream for ChannelBody {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// Streams the project's transactions in ledger order, page by page, each
/// page rendered by `render` (which also gets the stored units).
fn stream(
    db: std::sync::Arc<Database>,
    project_id: String,
    filter: TransactionFilter,
    header: Vec<u8>,
    mut render: impl FnMut(
        &std::collections::HashMap<String, Unit>,
        &[TransactionRecord],
    ) -> Result<Vec<u8>, String>
    + Send
    + 'static,
    footer: impl FnOnce(&mut db::DbConnection) -> Result<Vec<u8>, String> + Send + 'static,
) -> ChannelBody {
    let (sender, receiver) = tokio::sync::mpsc::channel(EXPORT_PAGES_BUFFERED);
    actix_web::rt::task::spawn_blocking(move || {
        let send = |bytes: Vec<u8>| sender.blocking_send(Ok(Bytes::from(bytes))).is_ok();
        if !send(header) {
            return;
        }
        let mut after = None;
        loop {
            let page = db.read(|conn| -> Result<_, ApiError> {
                let units = super::stored_units(conn)?;
                let records = db::transactions::list(
                    conn,
                    &project_id,
                    &filter,
                    after,
                    EXPORT_PAGE_TRANSACTIONS,
                )?;
                Ok((units, records))
            });
            let (units, records) = match page {
                Ok(page) => page,
                Err(error) => {
                    tracing::error!(%error, "export failed");
                    let _ = sender.blocking_send(Err(std::io::Error::other("export failed")));
                    return;
                }
            };
            let Some(last) = records.last().map(|r| r.row.sequence) else {
                break;
            };
            match render(&units, &records) {
                Ok(bytes) => {
                    if !send(bytes) {
                        // The client went away.
                        return;
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "export failed");
                    let _ = sender.blocking_send(Err(std::io::Error::other("export failed")));
                    return;
                }
            }
            if i64::try_from(records.len()).unwrap_or(0) < EXPORT_PAGE_TRANSACTIONS {
                break;
            }
            after = Some(last);
        }
        let tail = db
            .read(|conn| -> Result<Vec<u8>, ApiError> { footer(conn).map_err(ApiError::Internal) });
        match tail {
            Ok(bytes) => {
                send(bytes);
            }
            Err(error) => {
                tracing::error!(%error, "export failed");
                let _ = sender.blocking_send(Err(std::io::Error::other("export failed")));
            }
        }
    });
    ChannelBody(receiver)
}

fn filter_of(query: &JournalQuery) -> Result<TransactionFilter, ApiError> {
    let date = |text: Option<&str>, field: &str| {
        text.map(|t| parse_date(field, t).map_err(|e| ApiError::InvalidQuery(e.message)))
            .transpose()
    };
    Ok(TransactionFilter {
        from: date(query.from.as_deref(), "from")?,
        to: date(query.to.as_deref(), "to")?,
        account_id: None,
        kind: None,
    })
}

/// The journal as CSV: two rows per posting, one for each account it
/// touches (debit for the account receiving, credit for the one sending),
/// with that account's running balance after the posting.
#[utoipa::path(
    tag = "reports",
    operation_id = "export_journal_csv",
    params(("project_id" = String, Path, format = Uuid, description = "Project id"), JournalQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "RFC 4180 CSV, UTF-8, with a header row; columns in docs/reports.md", content_type = "text/csv", body = String),
        (status = 400, description = "Invalid `from` or `to`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`project_not_found`", body = Problem, content_type = "application/problem+json"),
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
    let filter = filter_of(&query)?;
    let project = super::read(&state, move |conn| {
        Ok(access::project_for(conn, &credentials, &project_id, Action::ReadLedger)?.1)
    })
    .await?;
    let header = csv_row(&JOURNAL_COLUMNS.map(str::to_owned))?;
    let body = stream(
        state.db.clone(),
        project.id,
        filter,
        header,
        render_csv,
        |_| Ok(Vec::new()),
    );
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .streaming(body))
}

/// Columns of journal.csv, in order.
pub const JOURNAL_COLUMNS: [&str; 15] = [
    "transaction_id",
    "sequence",
    "kind",
    "effective_date",
    "recorded_at",
    "account",
    "counter_account",
    "debit",
    "credit",
    "currency",
    "balance",
    "description",
    "reverses",
    "reversed_by",
    "hash",
];

fn csv_row(fields: &[String]) -> Result<Vec<u8>, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(fields)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    writer
        .into_inner()
        .map_err(|e| ApiError::Internal(e.to_string()))
}

fn render_csv(
    units: &std::collections::HashMap<String, Unit>,
    records: &[TransactionRecord],
) -> Result<Vec<u8>, String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for record in records {
        let row = &record.row;
        for posting in &record.postings {
            let money = |minor: i64| super::format_minor(units, &posting.currency, minor);
            let sides = [
                (
                    &posting.to,
                    &posting.from,
                    money(posting.amount),
                    String::new(),
                    posting.to_balance_after,
                ),
                (
                    &posting.from,
                    &posting.to,
                    String::new(),
                    money(posting.amount),
                    posting.from_balance_after,
                ),
            ];
            for (account, counter, debit, credit, balance) in sides {
                writer
                    .write_record([
                        row.id.as_str(),
                        &row.sequence.to_string(),
                        &row.kind,
                        &row.effective_date.to_string(),
                        &db::format_timestamp(row.recorded_at),
                        account,
                        counter,
                        &debit,
                        &credit,
                        &posting.currency,
                        &money(balance),
                        &row.description,
                        row.reverses_id.as_deref().unwrap_or(""),
                        record.reversed_by.as_deref().unwrap_or(""),
                        &row.hash,
                    ])
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    writer.into_inner().map_err(|e| e.to_string())
}

/// The whole journal in hledger's journal syntax: commodity and account
/// directives, one entry per transaction with its id, kind and sequence as
/// tags, and balance assertions for every account at the end, so
/// `hledger check` proves the export matches the service's balances.
#[utoipa::path(
    tag = "reports",
    operation_id = "export_journal_hledger",
    params(("project_id" = String, Path, format = Uuid, description = "Project id")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "An hledger journal", content_type = "text/plain", body = String),
        (status = 401, description = "Invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`project_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project_id}/reports/journal.hledger")]
pub async fn export_journal_hledger(
    state: web::Data<AppState>,
    credentials: Credentials,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let project_id = path.into_inner();
    let (project, units, accounts) = super::read(&state, move |conn| {
        let project = access::project_for(conn, &credentials, &project_id, Action::ReadLedger)?.1;
        let units = super::stored_units(conn)?;
        let accounts = db::accounts::list(conn, &project.id, None, None, i64::MAX)?;
        Ok((project, units, accounts))
    })
    .await?;
    let mut header = format!(
        "; commons-ledger journal of project {} ({})\n; amounts are exact; balance assertions close the file\n\n",
        one_line(&project.name),
        project.id
    );
    let mut codes: Vec<&String> = units.keys().collect();
    codes.sort();
    for code in codes {
        // A trailing point tells hledger a whole-number unit has no decimals.
        let sample = units[code].format_minor(100_000);
        let point = if units[code].scale() == 0 { "." } else { "" };
        header.push_str(&format!("commodity {sample}{point} {code}\n"));
    }
    header.push('\n');
    for account in &accounts {
        header.push_str(&format!("account {}\n", account.name));
    }
    header.push('\n');
    let project_id = project.id.clone();
    let body = stream(
        state.db.clone(),
        project.id,
        TransactionFilter::default(),
        header.into_bytes(),
        render_hledger,
        move |conn| {
            // Balances as of the end of the export, read after the last page.
            let units = super::stored_units(conn).map_err(|e| e.to_string())?;
            let accounts = db::accounts::list(conn, &project_id, None, None, i64::MAX)
                .map_err(|e| e.to_string())?;
            let last_date = db::transactions::last_effective_date(conn, &project_id)
                .map_err(|e| e.to_string())?;
            let Some(date) = last_date else {
                return Ok(Vec::new());
            };
            let mut out = format!("{date} closing balance assertions\n");
            for account in accounts {
                let zero = super::format_minor(&units, &account.currency, 0);
                let balance = super::format_minor(&units, &account.currency, account.balance);
                out.push_str(&format!(
                    "    {}    {zero} {c} = {balance} {c}\n",
                    account.name,
                    c = account.currency
                ));
            }
            Ok(out.into_bytes())
        },
    );
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .streaming(body))
}

/// Text on one line, for hledger descriptions and comments.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn render_hledger(
    units: &std::collections::HashMap<String, Unit>,
    records: &[TransactionRecord],
) -> Result<Vec<u8>, String> {
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
            let amount = super::format_minor(units, &posting.currency, posting.amount);
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
    Ok(out.into_bytes())
}
