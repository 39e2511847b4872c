//! `/v1/projects/{project_id}/reports`: exports a funder can check.
//!
//! Every export reads the database a page at a time on a blocking thread and
//! hands its output to the client through a bounded channel, so memory stays
//! flat whatever the size. Each reads up to the ledger sequence it saw when
//! it started (its snapshot), so a write landing mid-export never shows half.

use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::grants::find_grant;
use super::problem::ApiError;
use crate::db::Database;
use crate::db::accounts::AccountRow;
use crate::db::transactions::TransactionFilter;
use crate::domain::reports::movement::Movement;
use crate::domain::reports::{Line, Units};
use crate::http::extract::query_date;

mod bundle;
mod contributions;
mod distributions;
mod grants;
mod journal;
use crate::db::pages;
mod statements;

pub use crate::domain::reports::contributions::CONTRIBUTION_COLUMNS;
pub use crate::domain::reports::distribution::DISTRIBUTION_COLUMNS;
pub use crate::domain::reports::grant::GRANT_COLUMNS;
pub use crate::domain::reports::journal::JOURNAL_COLUMNS;
pub use crate::domain::reports::statement::STATEMENT_COLUMNS;
pub use crate::domain::reports::{CellKind, Column};

pub(crate) use crate::http::download::{
    CsvOut, Halt, Sink, collect, csv_download, download, enum_text, write_csv,
};

pub fn configure(cfg: &mut ServiceConfig) {
    journal::configure(cfg);
    bundle::configure(cfg);
    contributions::configure(cfg);
    grants::configure(cfg);
    distributions::configure(cfg);
    statements::configure(cfg);
}

/// A period, and whether to add the adjustments made after it.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// Earliest date, inclusive (`YYYY-MM-DD`).
    #[param(format = Date, max_length = 10)]
    pub from: Option<String>,
    /// Latest date, inclusive (`YYYY-MM-DD`).
    #[param(format = Date, max_length = 10)]
    pub to: Option<String>,
    /// After the report, a separate section listing the adjustments after
    /// closing: transactions dated after `to` that reverse one dated in the
    /// period, with their totals. Needs `to`. Default: false (the report
    /// alone, unchanged by anything dated after `to`).
    pub adjustments: Option<bool>,
}

impl PeriodQuery {
    /// The period asked for, and the end of the period whose adjustments
    /// are asked for, if they are (see [`adjustments_after`]).
    pub fn parse(&self) -> Result<(Period, Option<NaiveDate>), ApiError> {
        period_adjusted(self.from.as_deref(), self.to.as_deref(), self.adjustments)
    }
}

/// The period `from` to `to`, and the end of the period whose adjustments
/// are asked for, if they are (see [`adjustments_after`]): what a query with
/// a period and `adjustments` asks for.
pub fn period_adjusted(
    from: Option<&str>,
    to: Option<&str>,
    adjustments: Option<bool>,
) -> Result<(Period, Option<NaiveDate>), ApiError> {
    let period = Period::parse(from, to)?;
    let adjusted = adjustments_after(&period, adjustments)?;
    Ok((period, adjusted))
}

/// The end of the period whose adjustments are asked for, if they are: an
/// adjustment is dated after the period, so it needs `to` (400
/// `invalid_query` without).
pub fn adjustments_after(
    period: &Period,
    asked: Option<bool>,
) -> Result<Option<NaiveDate>, ApiError> {
    if asked != Some(true) {
        return Ok(None);
    }
    period.to.map(Some).ok_or_else(|| {
        ApiError::InvalidQuery(
            "`adjustments` lists what is dated after the period: give `to`".to_owned(),
        )
    })
}

/// A checked reporting period; either end may be open.
#[derive(Debug, Clone, Copy, Default)]
pub struct Period {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl Period {
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Period, ApiError> {
        let period = Period {
            from: query_date("from", from)?,
            to: query_date("to", to)?,
        };
        if period.is_empty() {
            return Err(ApiError::InvalidQuery(
                "`from` is after `to`: the period is empty".to_owned(),
            ));
        }
        Ok(period)
    }

    /// The part of this period that also lies within a grant's period
    /// (either of whose ends may be open).
    pub fn within(&self, start: Option<NaiveDate>, end: Option<NaiveDate>) -> Period {
        Period {
            from: self.from.max(start),
            to: match (self.to, end) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        }
    }

    /// Whether no date lies in the period (it ends before it starts).
    pub fn is_empty(&self) -> bool {
        self.from.zip(self.to).is_some_and(|(from, to)| from > to)
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from.is_none_or(|from| from <= date) && self.to.is_none_or(|to| date <= to)
    }

    /// The period's part of a file name: `2026-01-01_2026-12-31`, with
    /// `start` or `end` for an open end.
    fn label(&self) -> String {
        let end = |d: Option<NaiveDate>, open: &str| d.map_or(open.to_owned(), |d| d.to_string());
        format!("{}_{}", end(self.from, "start"), end(self.to, "end"))
    }
}

/// The balance of `account` before `from`, as of the snapshot (the ledger
/// sequence the export started at).
fn balance_before(
    db: &Database,
    account: &AccountRow,
    from: NaiveDate,
    snapshot: i64,
) -> Result<i128, Halt> {
    let balance = db.read(|conn| -> Result<i128, ApiError> {
        Ok(crate::db::transactions::balance_before(
            conn,
            &account.id,
            from,
            snapshot,
        )?)
    })?;
    Ok(balance)
}

/// Hands `page` the movements of `account` within `period`, a page at a
/// time, up to the snapshot.
fn each_movement(
    db: &Database,
    account: &AccountRow,
    period: &Period,
    snapshot: i64,
    page: impl FnMut(&Units, &[Movement]) -> Result<(), Halt>,
) -> Result<(), Halt> {
    let filter = TransactionFilter {
        from: period.from,
        to: period.to,
        account_id: Some(account.id.clone()),
        kind: None,
        until_sequence: Some(snapshot),
        adjusting: None,
    };
    pages::each_movement_page(db, &account.project_id, &account.name, &filter, page)
}

/// Writes to `out` the line `line` makes of each adjustment of `period`
/// (`from`, either end open, through `to`) on `account`, read a page at a
/// time up to the snapshot: the reversals dated after `to` of its movements
/// dated within the period. A grant's and a statement's adjustments section
/// both list them so; the units are returned for the totals that close it.
fn adjustment_lines(
    db: &Database,
    out: &mut CsvOut<'_>,
    account: &AccountRow,
    (period, snapshot): ((Option<NaiveDate>, NaiveDate), i64),
    mut line: impl FnMut(&Movement, &Units) -> Line,
) -> Result<Units, Halt> {
    let filter = TransactionFilter {
        account_id: Some(account.id.clone()),
        until_sequence: Some(snapshot),
        adjusting: Some(period),
        ..TransactionFilter::default()
    };
    let (project, name) = (&account.project_id, &account.name);
    pages::each_movement_page(db, project, name, &filter, |units, movements| {
        movements
            .iter()
            .try_for_each(|movement| out.row(line(movement, units).cells()))
    })?;
    Ok(db.read(super::stored_units)?)
}

/// A file name: `<project>-<report>-<period>.<extension>`, in lower-case
/// ASCII letters, digits, `-`, `_` and `.`.
fn file_name(project: &str, report: &str, period: &Period, extension: &str) -> String {
    format!(
        "{}-{}-{}.{extension}",
        slug(project),
        slug(report),
        period.label()
    )
}

/// Lower-case ASCII letters and digits, other runs of characters as one `-`.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-');
    if out.is_empty() {
        "project".to_owned()
    } else {
        out.chars().take(60).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_say_project_report_and_period() {
        let period = Period {
            from: NaiveDate::from_ymd_opt(2026, 1, 1),
            to: None,
        };
        assert_eq!(
            file_name("OpenAir Lyon!", "grant FH-2026-017", &period, "csv"),
            "openair-lyon-grant-fh-2026-017-2026-01-01_end.csv"
        );
        assert_eq!(slug("Ω"), "project");
    }

    #[test]
    fn a_period_that_ends_before_it_starts_is_refused() {
        assert!(Period::parse(Some("2026-02-01"), Some("2026-01-31")).is_err());
        let period = Period::parse(Some("2026-01-01"), Some("2026-01-31")).expect("period");
        assert!(period.contains(NaiveDate::from_ymd_opt(2026, 1, 31).expect("date")));
        assert!(!period.contains(NaiveDate::from_ymd_opt(2026, 2, 1).expect("date")));
    }
}
