//! The reports as pure folds: each report's lines and totals are computed
//! here from plain domain values (ledger entries, the movements of one
//! account, contributions), a page at a time, so the arithmetic is tested
//! without a database and the exports only read, fold and write.
//!
//! A line holds one text cell per column of its report's `*_COLUMNS`, set
//! by column name. How a cell is written (quoting, formula neutralisation)
//! is the CSV writer's business.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::Unit;
use super::money::format_minor_wide;

pub mod adjustments;
pub mod contributions;
pub mod distribution;
pub mod grant;
pub mod hledger;
pub mod journal;
pub mod movement;
pub mod statement;

/// The units recorded on the instance, by code.
pub type Units = HashMap<String, Unit>;

/// How a CSV column's cells are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// Text, some of it the caller's (descriptions, names, references):
    /// a cell a spreadsheet would read as a formula is neutralised.
    Text,
    /// A decimal number the service wrote (an amount, a quantity, a
    /// sequence), negative ones included: written as it is, so it stays a
    /// number. A cell of such a column that is not a plain decimal is
    /// treated as text.
    Number,
}

/// A column of a CSV export: its header and the kind of its cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: CellKind,
}

impl Column {
    pub const fn text(name: &'static str) -> Column {
        Column {
            name,
            kind: CellKind::Text,
        }
    }

    pub const fn number(name: &'static str) -> Column {
        Column {
            name,
            kind: CellKind::Number,
        }
    }
}

/// The columns whose cells are numbers the service writes (amounts,
/// balances, quantities, rates, shares, sequences, steps), in every report
/// alike; every other column is text (docs/reports.md).
pub const NUMBER_COLUMNS: [&str; 18] = [
    "debit",
    "credit",
    "balance",
    "sequence",
    "quantity",
    "rate",
    "value",
    "cash",
    "in_kind",
    "earned",
    "paid",
    "balance_owed",
    "step",
    "basis",
    "share_percent",
    "amount",
    "rounding_adjustment",
    "capped_by",
];

const fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut index = 0;
    while index < a.len() {
        if a[index] != b[index] {
            return false;
        }
        index += 1;
    }
    true
}

/// A report's columns from its header row (`name,name,...`), in order: a
/// number column when the name is one of [`NUMBER_COLUMNS`], text
/// otherwise. A header with other than `N` names does not compile.
pub const fn columns<const N: usize>(header: &'static str) -> [Column; N] {
    let mut columns = [Column::text(""); N];
    let mut rest = header.as_bytes();
    let mut index = 0;
    while index < N {
        let mut end = 0;
        while end < rest.len() && rest[end] != b',' {
            end += 1;
        }
        let (name, tail) = rest.split_at(end);
        let Ok(name) = std::str::from_utf8(name) else {
            panic!("a header is UTF-8");
        };
        assert!(!name.is_empty(), "a header names every column");
        columns[index] = Column::text(name);
        let mut number = 0;
        while number < NUMBER_COLUMNS.len() {
            if same_text(name, NUMBER_COLUMNS[number]) {
                columns[index] = Column::number(name);
            }
            number += 1;
        }
        rest = if tail.is_empty() {
            tail
        } else {
            tail.split_at(1).1
        };
        index += 1;
    }
    assert!(
        rest.is_empty(),
        "a header names no more columns than the report has"
    );
    columns
}

/// A line of a report: one cell per column of the report, in column order,
/// each set by its column's name and empty until set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    columns: &'static [Column],
    cells: Vec<String>,
}

impl Line {
    /// A line of empty cells.
    pub fn new(columns: &'static [Column]) -> Self {
        Line {
            columns,
            cells: vec![String::new(); columns.len()],
        }
    }

    fn index(&self, column: &str) -> Option<usize> {
        let index = self.columns.iter().position(|c| c.name == column);
        debug_assert!(index.is_some(), "the report has no column `{column}`");
        index
    }

    /// The line with the cell of `column` set to `value`.
    pub fn with(mut self, column: &str, value: impl Into<String>) -> Self {
        if let Some(index) = self.index(column) {
            self.cells[index] = value.into();
        }
        self
    }

    /// The cell of `column`.
    pub fn get(&self, column: &str) -> &str {
        self.index(column).map_or("", |index| &self.cells[index])
    }

    /// The cells in column order.
    pub fn cells(&self) -> &[String] {
        &self.cells
    }
}

/// Minor units as a decimal string at the unit's scale (a unit the
/// instance has not recorded is written whole); i128 so sums of many
/// postings never overflow.
pub fn money(units: &Units, code: &str, minor: i128) -> String {
    let scale = units.get(code).map_or(0, Unit::scale);
    format_minor_wide(minor, scale)
}

/// A date as `YYYY-MM-DD`, or empty for an open end.
pub fn date_text(date: Option<NaiveDate>) -> String {
    date.map(|d| d.to_string()).unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::domain::UnitKind;

    /// EUR (two decimals) and JPY (none).
    pub fn units() -> Units {
        [("EUR", 2), ("JPY", 0)]
            .into_iter()
            .map(|(code, scale)| {
                let unit = Unit::from_stored(code.to_owned(), scale, UnitKind::Currency);
                (code.to_owned(), unit)
            })
            .collect()
    }

    /// Each closing line's `section` and `cash` cells: what a report's
    /// closing totals say, in order.
    pub fn section_cash(lines: &[Line]) -> Vec<(&str, &str)> {
        lines
            .iter()
            .map(|l| (l.get("section"), l.get("cash")))
            .collect()
    }

    pub fn day(text: &str) -> NaiveDate {
        text.parse().expect("a date")
    }

    /// A posting of `signed` EUR minor units on the account, by a
    /// transaction `t` of `kind` with no record behind it.
    pub fn moved(kind: crate::domain::TransactionKind, signed: i64) -> movement::Movement {
        movement::Movement {
            transaction_id: "t".to_owned(),
            sequence: 1,
            date: day("2026-03-01"),
            description: "d".to_owned(),
            currency: "EUR".to_owned(),
            signed,
            counter: "agent:a".to_owned(),
            kind,
            reversal: false,
            source: "t".to_owned(),
            record: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::units;
    use super::*;

    #[test]
    fn a_line_has_a_cell_per_column_set_by_name() {
        const COLUMNS: [Column; 3] = [
            Column::text("section"),
            Column::number("amount"),
            Column::text("currency"),
        ];
        let line = Line::new(&COLUMNS)
            .with("currency", "EUR")
            .with("section", "total");
        assert_eq!(line.cells(), ["total", "", "EUR"]);
        assert_eq!(line.get("currency"), "EUR");
    }

    #[test]
    fn a_column_is_a_number_by_its_name_in_every_report() {
        let [section, amount] = columns("section,amount");
        assert_eq!(section.kind, CellKind::Text);
        assert_eq!(amount.kind, CellKind::Number);
        let reports: [&[Column]; 5] = [
            &contributions::CONTRIBUTION_COLUMNS,
            &distribution::DISTRIBUTION_COLUMNS,
            &grant::GRANT_COLUMNS,
            &journal::JOURNAL_COLUMNS,
            &statement::STATEMENT_COLUMNS,
        ];
        let used: Vec<&str> = reports
            .iter()
            .flat_map(|columns| columns.iter())
            .filter(|column| column.kind == CellKind::Number)
            .map(|column| column.name)
            .collect();
        for name in NUMBER_COLUMNS {
            assert!(used.contains(&name), "`{name}` is a column of some report");
        }
    }

    #[test]
    fn money_is_written_at_the_unit_scale_even_past_64_bits() {
        let units = units();
        assert_eq!(money(&units, "EUR", -1250), "-12.50");
        assert_eq!(money(&units, "JPY", 1250), "1250");
        assert_eq!(money(&units, "XXX", 7), "7", "an unknown unit is whole");
        let huge = i128::from(i64::MAX) * 4;
        assert_eq!(money(&units, "JPY", huge), huge.to_string());
    }
}
