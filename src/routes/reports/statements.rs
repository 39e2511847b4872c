//! statements/{agent_id}.csv: a contributor's statement in one project:
//! their contributions with values, then the money side from the ledger
//! (distributions earned, payouts received, reversals) with the balance
//! still owed after each, then the totals.

use std::collections::{BTreeMap, HashSet};

use actix_web::{HttpResponse, get, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::{Column, CsvOut, EXPORT_PAGE_ROWS, Period, PeriodQuery, download, file_name, money};
use crate::auth::Credentials;
use crate::db;
use crate::db::contributions::ContributionFilter;
use crate::db::transactions::TransactionFilter;
use crate::domain::access::Action;
use crate::domain::contribution::QuantityUnit;
use crate::routes::access::{self, Caller};
use crate::routes::codes::Resource;
use crate::routes::openapi::Unauthenticated;
use crate::routes::problem::{ApiError, Problem};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(export_statement_csv);
}

/// Columns of a contributor statement, in order.
pub const STATEMENT_COLUMNS: [Column; 14] = [
    Column::text("section"),
    Column::text("date"),
    Column::text("reference"),
    Column::text("transaction_id"),
    Column::text("description"),
    Column::text("kind"),
    Column::number("quantity"),
    Column::text("unit"),
    Column::text("status"),
    Column::number("value"),
    Column::number("earned"),
    Column::number("paid"),
    Column::number("balance_owed"),
    Column::text("currency"),
];

/// A contributor's statement: their own for any member; anyone's for
/// owners, treasurers and auditors.
#[utoipa::path(
    tag = "reports",
    operation_id = "export_statement_csv",
    params(
        ("agent_id" = String, Path, format = Uuid, description = "The contributor"),
        PeriodQuery,
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "RFC 4180 CSV, UTF-8, with a header row; columns in docs/reports.md", content_type = "text/csv", body = String),
        (status = 400, description = "Invalid `from` or `to`", body = Problem, content_type = "application/problem+json"),
        Unauthenticated,
        (status = 403, description = "`forbidden`: contributors see only their own", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`project_not_found` or `agent_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project_id}/reports/statements/{agent_id}.csv")]
pub async fn export_statement_csv(
    state: web::Data<AppState>,
    credentials: Credentials,
    path: web::Path<(String, String)>,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, ApiError> {
    let (project_id, agent_id) = path.into_inner();
    let period = Period::parse(query.from.as_deref(), query.to.as_deref())?;
    let (project, agent, account) = crate::routes::read(&state, move |conn| {
        let caller = Caller::resolve(conn, &credentials)?;
        let own = caller.agent().is_some_and(|me| me.id == agent_id);
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
    Ok(download(
        state.db.clone(),
        "text/csv; charset=utf-8",
        &name,
        move |db, sink| {
            let mut out = CsvOut::new(sink, &STATEMENT_COLUMNS)?;
            // Contributions, page by page.
            let replaced: HashSet<String> = db
                .read(|conn| -> Result<_, ApiError> {
                    Ok(db::contributions::replaced(conn, &project.id)?)
                })?
                .into_iter()
                .collect();
            let filter = ContributionFilter {
                agent: Some(agent.id.clone()),
                from: period.from,
                to: period.to,
                ..ContributionFilter::default()
            };
            let mut approved: BTreeMap<String, i128> = BTreeMap::new();
            let mut units = std::collections::HashMap::new();
            let mut after: Option<String> = None;
            loop {
                let rows = db.read(|conn| -> Result<_, ApiError> {
                    units = crate::routes::stored_units(conn)?;
                    Ok(db::contributions::list(
                        conn,
                        &project.id,
                        &filter,
                        after.as_deref(),
                        EXPORT_PAGE_ROWS,
                    )?)
                })?;
                let Some(last) = rows.last().map(|r| r.id.clone()) else {
                    break;
                };
                for row in &rows {
                    let currency = row.currency.clone().unwrap_or_default();
                    let counts = row.status == "approved" && !replaced.contains(&row.id);
                    if let (true, Some(value)) = (counts, row.value) {
                        *approved.entry(currency.clone()).or_default() += i128::from(value);
                    }
                    let status = if replaced.contains(&row.id) {
                        "replaced".to_owned()
                    } else {
                        row.status.clone()
                    };
                    let quantity = QuantityUnit::parse(&row.unit).map_or_else(
                        || row.quantity.to_string(),
                        |u| u.format_quantity(row.quantity),
                    );
                    out.row([
                        "contribution",
                        &row.date.to_string(),
                        &row.id,
                        "",
                        row.dataset_title.as_deref().unwrap_or(&row.description),
                        &row.kind,
                        &quantity,
                        &row.unit,
                        &status,
                        &row.value
                            .map(|v| money(&units, &currency, i128::from(v)))
                            .unwrap_or_default(),
                        "",
                        "",
                        "",
                        &currency,
                    ])?;
                }
                if i64::try_from(rows.len()).unwrap_or(0) < EXPORT_PAGE_ROWS {
                    break;
                }
                after = Some(last);
            }
            for (currency, total) in &approved {
                out.row([
                    "total_approved_value",
                    "",
                    "",
                    "",
                    "approved contributions, corrections counted once",
                    "",
                    "",
                    "",
                    "",
                    &money(&units, currency, *total),
                    "",
                    "",
                    "",
                    currency,
                ])?;
            }
            // The money side: postings on the contributor's account.
            let Some(account) = account else {
                return out.finish();
            };
            let currency = account.currency.clone();
            let mut owed: i128 = 0;
            if let Some(from) = period.from {
                owed = db.read(|conn| -> Result<i128, ApiError> {
                    Ok(db::transactions::balance_before(
                        conn,
                        &account.id,
                        from,
                        snapshot,
                    )?)
                })?;
                out.row([
                    "opening",
                    &from.to_string(),
                    "",
                    "",
                    "balance owed before the period",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    &money(&units, &currency, owed),
                    &currency,
                ])?;
            }
            let (mut earned, mut paid) = (0_i128, 0_i128);
            let ledger = TransactionFilter {
                from: period.from,
                to: period.to,
                account_id: Some(account.id.clone()),
                kind: None,
                until_sequence: Some(snapshot),
            };
            super::movements::each_page(
                db,
                &project.id,
                &account.name,
                &ledger,
                |units, movements, linked| {
                    for m in movements {
                        let signed = i128::from(m.signed);
                        owed += signed;
                        let (earned_text, paid_text) = if signed >= 0 {
                            earned += signed;
                            (money(units, &m.currency, signed), String::new())
                        } else {
                            paid -= signed;
                            (String::new(), money(units, &m.currency, -signed))
                        };
                        let reference = linked
                            .runs
                            .get(&m.source)
                            .map(|r| r.id.clone())
                            .or_else(|| linked.payouts.get(&m.source).map(|p| p.reference.clone()))
                            .unwrap_or_default();
                        let section = if m.reversal {
                            "reversal"
                        } else {
                            m.kind.as_str()
                        };
                        out.row([
                            section,
                            &m.date.to_string(),
                            &reference,
                            &m.transaction_id,
                            &m.description,
                            &m.kind,
                            "",
                            "",
                            "",
                            "",
                            &earned_text,
                            &paid_text,
                            &money(units, &m.currency, owed),
                            &m.currency,
                        ])?;
                    }
                    Ok(())
                },
            )?;
            for (section, amount, text) in [
                (
                    "total_earned",
                    earned,
                    "money that came to the contributor's account",
                ),
                (
                    "total_paid",
                    paid,
                    "money that left it (payouts, net of reversals)",
                ),
            ] {
                let (e, p) = if section == "total_earned" {
                    (money(&units, &currency, amount), String::new())
                } else {
                    (String::new(), money(&units, &currency, amount))
                };
                out.row([
                    section, "", "", "", text, "", "", "", "", "", &e, &p, "", &currency,
                ])?;
            }
            out.row([
                "balance_owed",
                &period.to.map(|d| d.to_string()).unwrap_or_default(),
                &account.name,
                "",
                "opening + earned - paid",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                &money(&units, &currency, owed),
                &currency,
            ])?;
            out.finish()
        },
    ))
}
