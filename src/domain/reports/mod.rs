//! The reports as pure folds: each report's lines and totals are computed
//! here from plain domain values (ledger entries, the movements of one
//! account, contributions), a page at a time, so the arithmetic is tested
//! without a database and the exports only read, fold and write.
//!
//! A line is a struct with one text field per column; its `cells` give them
//! in the column order of the report's `*_COLUMNS`. How a cell is written
//! (quoting, formula neutralisation) is the CSV writer's business.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::Unit;
use super::money::format_minor_wide;

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

    pub fn day(text: &str) -> NaiveDate {
        text.parse().expect("a date")
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::units;
    use super::*;

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
