//! grants/{grant_id}.csv: a funder's view of one grant. Money received,
//! spent by category (with the funder's cost category), distributed by run,
//! and what remains, from the ledger's postings on the grant's pool; then
//! the in-kind contributions of the grant's period, valued with their named
//! methods. Cash and in-kind are kept in separate columns.

use actix_web::{HttpResponse, get, web};
use commons_ledger_macros::operation;
use utoipa_actix_web::service_config::ServiceConfig;

use super::pages::{each_contribution_page, funder_categories};
use super::{
    CsvOut, GRANT_COLUMNS, Halt, Period, PeriodQuery, adjustment_lines, balance_before,
    csv_download, each_movement, file_name, find_grant,
};
use crate::db::accounts::AccountRow;
use crate::db::contributions::ContributionFilter;
use crate::db::funds::GrantRow;
use crate::db::projects::Project;
use crate::db::{self, Database, DbConnection};
use crate::domain::access::Action;
use crate::domain::reports::Units;
use crate::domain::reports::adjustments::GrantAdjustments;
use crate::domain::reports::grant::{Allocation, GrantFacts, GrantReport};
use crate::http::call::ProjectCall;
use crate::http::openapi::GrantNotFound;
use crate::http::problem::{ApiError, Problem};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(export_grant_csv);
}

/// Download a grant report
///
/// A grant report: its rows, sections and totals are listed in docs/reports.md.
/// `from` and `to` narrow the rows to a period; the `opening` line then carries
/// the pool's balance before it, so opening plus the movements still equals
/// `remaining`. With `adjustments=true`, the adjustments after closing follow,
/// in a section of their own.
#[operation(get "/projects/{project_id}/reports/grants/{grant_id}.csv", tag = "reports", public,
    params(id "grant_id" "Grant id", PeriodQuery),
    responses(
        (status = 200, description = "RFC 4180 CSV, UTF-8, with a header row; columns in docs/reports.md", content_type = "text/csv", body = String),
        400 "Invalid `from` or `to`, or `adjustments` without `to`",
        GrantNotFound,
    ))]
pub async fn export_grant_csv(
    call: ProjectCall,
    path: web::Path<(String, String)>,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, ApiError> {
    let (_, grant_id) = path.into_inner();
    let (period, adjusted) = query.parse()?;
    let db = call.state.db.clone();
    let (project, export) = call
        .read(Action::ReadLedger, move |conn, _, project| {
            Ok((
                project.clone(),
                GrantExport::read(conn, project, &grant_id)?,
            ))
        })
        .await?;
    let name = file_name(
        &project.name,
        &format!("grant-{}", export.grant.reference),
        &period,
        "csv",
    );
    let snapshot = project.last_sequence;
    Ok(csv_download(db, &name, &GRANT_COLUMNS, move |db, out| {
        export.write(db, out, (&period, adjusted), snapshot)
    }))
}

/// What a grant report is made from besides its pages: the grant, its
/// pool (and a restricted grant's pools in other currencies) and the
/// project's funder categories, read once when the export starts.
pub(super) struct GrantExport {
    pub(super) grant: GrantRow,
    pool: AccountRow,
    others: Vec<AccountRow>,
    categories: FunderCategories,
}

type FunderCategories = std::collections::HashMap<String, String>;

impl GrantExport {
    /// The project's grant `grant_id` (404 `grant_not_found`) and its pools.
    pub(super) fn read(
        conn: &mut DbConnection,
        project: &Project,
        grant_id: &str,
    ) -> Result<GrantExport, ApiError> {
        let grant = find_grant(conn, project, grant_id)?;
        let pool = db::accounts::find(conn, &project.id, &grant.pool_account)?
            .ok_or_else(|| ApiError::internal("grant pool missing"))?;
        let categories = funder_categories(conn, &project.id)?;
        let others = if grant.restriction.is_some() {
            db::accounts::under(conn, &project.id, &grant.pool_account)?
        } else {
            Vec::new()
        };
        Ok(GrantExport {
            grant,
            pool,
            others,
            categories,
        })
    }

    /// The grant's pool's account id (what the journal's `grant` narrows to).
    pub(super) fn pool_id(&self) -> &str {
        &self.pool.id
    }

    /// Writes the report's rows for `period`, reading the ledger up to
    /// `snapshot`; with an adjustments date (`adjustments=true`, through the
    /// period's `to`), the adjustments after closing follow in a section of
    /// their own.
    pub(super) fn write(
        self,
        db: &Database,
        out: &mut CsvOut<'_>,
        (period, adjusted): (&Period, Option<chrono::NaiveDate>),
        snapshot: i64,
    ) -> Result<(), Halt> {
        let GrantExport {
            grant,
            pool,
            others,
            categories,
        } = self;
        let facts = |pool: &AccountRow| GrantFacts {
            reference: grant.reference.clone(),
            transaction_id: grant.transaction_id.clone(),
            currency: pool.currency.clone(),
            pool: pool.name.clone(),
            shared: grant.restriction.is_none(),
        };
        let mut report = GrantReport::new(facts(&pool), categories.clone());
        cash_rows(db, out, &mut report, &pool, period, snapshot)?;
        // A restricted grant's money exchanged into other currencies: each of
        // its pools in another currency, folded alike, its lines and totals in
        // that currency.
        let mut exchanged: Vec<(GrantReport, AccountRow)> = Vec::new();
        for other_pool in others {
            let mut other = GrantReport::new(facts(&other_pool), categories.clone());
            cash_rows(db, out, &mut other, &other_pool, period, snapshot)?;
            exchanged.push((other, other_pool));
        }
        let in_kind_period = period.within(grant.period_start, grant.period_end);
        in_kind_rows(db, out, &mut report, &grant, &in_kind_period)?;
        let Some(to) = adjusted else {
            return Ok(());
        };
        out.row(GrantAdjustments::heading(&pool.name, to).cells())?;
        let pools = std::iter::once((&report, &pool)).chain(exchanged.iter().map(|(r, p)| (r, p)));
        for (report, pool) in pools {
            adjustment_rows(db, out, report, pool, (period.from, to), snapshot)?;
        }
        Ok(())
    }
}

/// The adjustments of the period (`from`, through `to`) on one of the
/// grant's pools, read up to the snapshot: each movement of the pool by
/// one, then their totals and what remains with them counted.
fn adjustment_rows(
    db: &Database,
    out: &mut CsvOut<'_>,
    report: &GrantReport,
    pool: &AccountRow,
    period: (Option<chrono::NaiveDate>, chrono::NaiveDate),
    snapshot: i64,
) -> Result<(), Halt> {
    let mut adjustments = GrantAdjustments::new(report);
    let units = adjustment_lines(db, out, pool, (period, snapshot), |movement, units| {
        adjustments.movement(movement, units)
    })?;
    out.lines(adjustments.closing(&report.totals, &units))
}

/// The movements of the grant's pool within the period (after its opening
/// balance, with `from`), then the totals and what remains.
fn cash_rows(
    db: &Database,
    out: &mut CsvOut<'_>,
    report: &mut GrantReport,
    pool: &AccountRow,
    period: &Period,
    snapshot: i64,
) -> Result<(), Halt> {
    let units = db.read(crate::routes::stored_units)?;
    if let Some(from) = period.from {
        let balance = balance_before(db, pool, from, snapshot)?;
        out.row(report.opening(from, balance, &units).cells())?;
    }
    each_movement(db, pool, period, snapshot, |_, movements| {
        movements
            .iter()
            .try_for_each(|movement| out.row(report.movement(movement, &units).cells()))
    })?;
    out.lines(report.closing(period.to, &units))
}

/// The approved contributions dated within `period` (the grant's and the
/// asked one), valued with their named methods, and their total per currency.
fn in_kind_rows(
    db: &Database,
    out: &mut CsvOut<'_>,
    report: &mut GrantReport,
    grant: &GrantRow,
    period: &Period,
) -> Result<(), Halt> {
    if period.is_empty() {
        return Ok(());
    }
    let filter = ContributionFilter {
        status: Some("approved".to_owned()),
        from: period.from,
        to: period.to,
        ..ContributionFilter::default()
    };
    let allocated = db.read(|conn| -> Result<_, crate::db::StorageError> {
        Ok(db::in_kind::grants_by_contribution(
            conn,
            &grant.project_id,
        )?)
    })?;
    let allocation = |id: &str| match allocated.get(id) {
        Some(to) if *to == grant.id => Allocation::ThisGrant,
        Some(_) => Allocation::OtherGrant,
        None => Allocation::None,
    };
    let mut last_units = Units::new();
    each_contribution_page(db, &grant.project_id, &filter, |units, entries| {
        last_units.clone_from(units);
        out.lines(
            entries
                .iter()
                .filter_map(|entry| report.in_kind(entry, allocation(&entry.id), units)),
        )
    })?;
    out.lines(report.in_kind_totals(&last_units))
}
