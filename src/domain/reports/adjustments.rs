//! Adjustments after closing: what a report of a period shows, when asked,
//! after its own content, of the corrections made since. An adjustment of
//! the period `from`..`to` is a transaction dated after `to` that reverses
//! one dated within the period (corrections are posted in the open period,
//! never into a closed one). The report's lines above stay as they were; the
//! adjustments are a separate section with totals of their own.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::grant::{GRANT_COLUMNS, GrantReport, GrantTotals};
use super::journal::{Entry, JOURNAL_COLUMNS, JournalLine, journal_lines};
use super::movement::Movement;
use super::statement::{STATEMENT_COLUMNS, Statement};
use super::{Line, Units, money};

/// What heads the adjustments section of a report of the period ending `to`.
pub fn heading_text(to: NaiveDate) -> String {
    format!(
        "adjustments after closing: transactions dated after {to} that reverse one dated in the period; the lines above are unchanged"
    )
}

/// The journal's adjustments section: the journal lines of each adjustment
/// (its `reverses` column names what it undoes), then the total debited and
/// credited per account and currency.
#[derive(Debug, Clone)]
pub struct JournalAdjustments {
    to: NaiveDate,
    /// (debit, credit) in minor units, by account and currency.
    totals: BTreeMap<(String, String), (i128, i128)>,
}

impl JournalAdjustments {
    pub fn new(to: NaiveDate) -> Self {
        JournalAdjustments {
            to,
            totals: BTreeMap::new(),
        }
    }

    /// The line that heads the section: `kind` says what follows.
    pub fn heading(&self) -> Line {
        Line::new(&JOURNAL_COLUMNS)
            .with("kind", "adjustments_after_closing")
            .with("effective_date", self.to.to_string())
            .with("description", heading_text(self.to))
    }

    /// The lines of one adjustment, as the journal shows any transaction,
    /// counted in the totals.
    pub fn lines<'a>(&mut self, entry: &'a Entry, units: &Units) -> Vec<JournalLine<'a>> {
        for posting in &entry.postings {
            let amount = i128::from(posting.amount);
            for (account, _, receives, _) in posting.sides() {
                let key = (account.to_owned(), posting.currency.clone());
                let (debit, credit) = self.totals.entry(key).or_default();
                if receives {
                    *debit += amount;
                } else {
                    *credit += amount;
                }
            }
        }
        journal_lines(entry, units)
    }

    /// The total debited and credited by the adjustments, per account and
    /// currency, by account name.
    pub fn totals(&self, units: &Units) -> Vec<Line> {
        self.totals
            .iter()
            .map(|((account, currency), (debit, credit))| {
                Line::new(&JOURNAL_COLUMNS)
                    .with("kind", "total_adjustments")
                    .with("effective_date", self.to.to_string())
                    .with("account", account)
                    .with("debit", money(units, currency, *debit))
                    .with("credit", money(units, currency, *credit))
                    .with("currency", currency)
                    .with("description", "adjustments after closing to the account")
            })
            .collect()
    }
}

/// A section's figure among a grant report's totals.
type Figure = fn(&GrantTotals) -> i128;

/// The sections of a grant report an adjustment may fall in, in the order
/// their totals are given, with their figure.
const GRANT_SECTIONS: [(&str, Figure); 6] = [
    ("received", |t| t.received),
    ("spent", |t| t.spent),
    ("distributed", |t| t.distributed),
    ("released", |t| t.released),
    ("exchanged", |t| t.exchanged),
    ("other", |t| t.other),
];

/// A grant pool's adjustments: each movement of the pool by an adjustment,
/// sorted into the section it corrects and signed as that section shows
/// it, then the total per section and what remains once they are counted.
#[derive(Debug, Clone)]
pub struct GrantAdjustments {
    /// The adjustments folded alone (no opening): their effect on each
    /// section and on what remains.
    report: GrantReport,
    /// The sections the adjustments fell in.
    touched: Vec<String>,
}

impl GrantAdjustments {
    /// The adjustments of the pool `report` is about (its grant and its
    /// categories; its totals are not touched).
    pub fn new(report: &GrantReport) -> Self {
        GrantAdjustments {
            report: GrantReport::new(report.grant.clone(), report.categories.clone()),
            touched: Vec::new(),
        }
    }

    /// The line that heads a grant report's adjustments section.
    pub fn heading(pool: &str, to: NaiveDate) -> Line {
        Line::new(&GRANT_COLUMNS)
            .with("section", "adjustments_after_closing")
            .with("date", to.to_string())
            .with("reference", pool)
            .with("description", heading_text(to))
    }

    /// The `adjustment` line of one movement of the pool: the section it
    /// corrects, its sequence and what it reverses lead the description.
    pub fn movement(&mut self, movement: &Movement, units: &Units) -> Line {
        let line = self.report.movement(movement, units);
        let section = line.get("section").to_owned();
        let description = format!(
            "{section}, sequence {}, reverses {}: {}",
            movement.sequence,
            movement.source,
            line.get("description")
        );
        if !self.touched.contains(&section) {
            self.touched.push(section);
        }
        line.with("section", "adjustment")
            .with("description", description)
    }

    /// The adjustments' total per section they fell in, then what remains
    /// in the pool once they are counted (`base` is the report's own fold).
    pub fn closing(&self, base: &GrantTotals, units: &Units) -> Vec<Line> {
        let currency = &self.report.grant.currency;
        let line = |section: &str, description: String, cash: i128| {
            Line::new(&GRANT_COLUMNS)
                .with("section", section)
                .with("reference", &self.report.grant.pool)
                .with("description", description)
                .with("cash", money(units, currency, cash))
                .with("currency", currency)
        };
        let totals = &self.report.totals;
        let mut lines: Vec<Line> = GRANT_SECTIONS
            .iter()
            .filter(|(section, _)| self.touched.iter().any(|t| t == section))
            .map(|(section, figure)| {
                let description = format!("adjustments after closing to {section}");
                line("total_adjustments", description, figure(totals))
            })
            .collect();
        let remaining = base.remaining() + totals.remaining();
        let description = "remaining with the adjustments after closing counted".to_owned();
        lines.push(line("remaining_after_adjustments", description, remaining));
        lines
    }
}

/// A contributor statement's adjustments: each posting on the
/// contributor's account by an adjustment, with the balance owed running on
/// from the period's end, then their totals and the balance owed with them.
#[derive(Debug, Clone)]
pub struct StatementAdjustments {
    statement: Statement,
}

impl StatementAdjustments {
    /// The adjustments of a statement whose period ended owing `owed`.
    pub fn new(owed: i128) -> Self {
        StatementAdjustments {
            statement: Statement {
                owed,
                ..Statement::default()
            },
        }
    }

    /// The line that heads a statement's adjustments section.
    pub fn heading(account: &str, to: NaiveDate, currency: &str) -> Line {
        Line::new(&STATEMENT_COLUMNS)
            .with("section", "adjustments_after_closing")
            .with("date", to.to_string())
            .with("reference", account)
            .with("description", heading_text(to))
            .with("currency", currency)
    }

    /// The `adjustment` line of one posting on the account: its sequence
    /// and what it reverses lead the description.
    pub fn movement(&mut self, movement: &Movement, units: &Units) -> Line {
        let line = self.statement.movement(movement, units);
        let description = format!(
            "sequence {}, reverses {}: {}",
            movement.sequence,
            movement.source,
            line.get("description")
        );
        line.with("section", "adjustment")
            .with("description", description)
    }

    /// What the adjustments earned and paid, and the balance owed with
    /// them counted, on `account`.
    pub fn closing(&self, account: &str, currency: &str, units: &Units) -> [Line; 2] {
        let statement = &self.statement;
        let line = |section: &str, description: &str| {
            Line::new(&STATEMENT_COLUMNS)
                .with("section", section)
                .with("reference", account)
                .with("description", description)
                .with("currency", currency)
        };
        [
            line("total_adjustments", "adjustments after closing")
                .with("earned", money(units, currency, statement.earned))
                .with("paid", money(units, currency, statement.paid)),
            line(
                "balance_owed_after_adjustments",
                "balance owed with the adjustments after closing counted",
            )
            .with("balance_owed", money(units, currency, statement.owed)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::domain::TransactionKind;
    use crate::domain::reports::grant::GrantFacts;
    use crate::domain::reports::journal::tests::entry;
    use crate::domain::reports::movement::Record;
    use crate::domain::reports::test_support::{self, day, units};

    #[test]
    fn the_journal_section_is_headed_listed_and_totalled_per_account() {
        let units = units();
        let mut adjustments = JournalAdjustments::new(day("2026-03-31"));
        let heading = adjustments.heading();
        assert_eq!(heading.get("kind"), "adjustments_after_closing");
        assert_eq!(heading.get("transaction_id"), "", "no transaction");
        assert!(heading.get("description").contains("after 2026-03-31"));
        let mut reversal = entry(12, &[("supplier", "pool:grant:fh", 12_000, 0, 12_000)]);
        reversal.kind = TransactionKind::Reversal;
        reversal.reverses = Some("t3".to_owned());
        let lines = adjustments.lines(&reversal, &units);
        let cells: Vec<[&str; 15]> = lines.iter().map(JournalLine::cells).collect();
        assert_eq!(cells.len(), 2);
        assert_eq!(
            (cells[0][1], cells[0][2], cells[0][12]),
            ("12", "reversal", "t3")
        );
        let another = entry(13, &[("supplier", "pool:grant:fh", 50, 0, 12_050)]);
        adjustments.lines(&another, &units);
        let totals = adjustments.totals(&units);
        let sums: Vec<(&str, &str, &str)> = totals
            .iter()
            .map(|l| (l.get("account"), l.get("debit"), l.get("credit")))
            .collect();
        assert_eq!(
            sums,
            [
                ("pool:grant:fh", "120.50", "0.00"),
                ("supplier", "0.00", "120.50")
            ]
        );
        assert!(totals.iter().all(|l| l.get("kind") == "total_adjustments"));
    }

    #[test]
    fn no_adjustment_no_total() {
        let adjustments = JournalAdjustments::new(day("2026-03-31"));
        assert!(adjustments.totals(&units()).is_empty());
    }

    fn report() -> GrantReport {
        let grant = GrantFacts {
            reference: "FH-1".to_owned(),
            transaction_id: "t-grant".to_owned(),
            currency: "EUR".to_owned(),
            pool: "pool:grant:fh".to_owned(),
            shared: false,
        };
        GrantReport::new(grant, HashMap::new())
    }

    #[test]
    fn a_reversed_expense_adjusts_spent_and_what_remains() {
        let units = units();
        let mut base = report();
        base.movement(
            &test_support::moved(TransactionKind::Grant, 100_000),
            &units,
        );
        base.movement(
            &test_support::moved(TransactionKind::Expense, -12_000),
            &units,
        );
        let mut adjustments = GrantAdjustments::new(&base);
        let undone = Movement {
            transaction_id: "t9".to_owned(),
            sequence: 9,
            reversal: true,
            source: "t3".to_owned(),
            record: Some(Record::Expense {
                category: "parts".to_owned(),
                supplier: "Capteurs".to_owned(),
            }),
            ..test_support::moved(TransactionKind::Expense, 12_000)
        };
        let line = adjustments.movement(&undone, &units);
        assert_eq!(line.get("section"), "adjustment");
        assert_eq!(line.get("transaction_id"), "t9");
        assert_eq!(line.get("category"), "parts");
        assert_eq!(line.get("cash"), "-120.00", "as spent shows a reversal");
        assert_eq!(
            line.get("description"),
            "spent, sequence 9, reverses t3: reversal: d"
        );
        let closing = adjustments.closing(&base.totals, &units);
        assert_eq!(
            test_support::section_cash(&closing),
            [
                ("total_adjustments", "-120.00"),
                ("remaining_after_adjustments", "1000.00"),
            ]
        );
        assert_eq!(base.totals.spent, 12_000, "the report's own figures stay");
    }

    #[test]
    fn a_reversed_payout_is_owed_again_after_the_period() {
        let units = units();
        let mut adjustments = StatementAdjustments::new(10_000);
        let undone = Movement {
            sequence: 21,
            reversal: true,
            source: "t7".to_owned(),
            ..test_support::moved(TransactionKind::Payout, 4_000)
        };
        let line = adjustments.movement(&undone, &units);
        assert_eq!(line.get("section"), "adjustment");
        assert_eq!(line.get("description"), "sequence 21, reverses t7: d");
        assert_eq!(
            (line.get("earned"), line.get("balance_owed")),
            ("40.00", "140.00"),
            "the balance runs on from the period's end"
        );
        let [total, owed] = adjustments.closing("contributor:a", "EUR", &units);
        assert_eq!((total.get("earned"), total.get("paid")), ("40.00", "0.00"));
        assert_eq!(owed.get("balance_owed"), "140.00");
        let heading = StatementAdjustments::heading("contributor:a", day("2026-03-31"), "EUR");
        assert_eq!(heading.get("section"), "adjustments_after_closing");
    }

    #[test]
    fn without_adjustments_what_remains_is_the_report_s() {
        let units = units();
        let mut base = report();
        base.opening(day("2026-01-01"), 5_000, &units);
        let adjustments = GrantAdjustments::new(&base);
        let closing = adjustments.closing(&base.totals, &units);
        assert_eq!(closing.len(), 1);
        assert_eq!(closing[0].get("cash"), "50.00");
        let heading = GrantAdjustments::heading("pool:grant:fh", day("2026-03-31"));
        assert_eq!(heading.get("section"), "adjustments_after_closing");
        assert_eq!(heading.get("cash"), "");
    }
}
