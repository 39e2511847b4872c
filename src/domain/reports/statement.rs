//! statements/{agent_id}.csv as a fold: a contributor's contributions with
//! their values and the approved total per currency, then the money side
//! (postings on their account) with the balance still owed after each, then
//! what was earned, paid and is owed.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::contributions::ContributionEntry;
use super::movement::Movement;
use super::{Column, Line, Units, columns, date_text, money};

/// The header row of a contributor statement, in order.
pub const STATEMENT_COLUMNS: [Column; 14] = columns(
    "section,date,reference,transaction_id,description,kind,quantity,unit,status,value,earned,paid,balance_owed,currency",
);

/// A line of a statement's `section` with a description, in `currency`.
fn summary(section: &str, description: &str, currency: &str) -> Line {
    Line::new(&STATEMENT_COLUMNS)
        .with("section", section)
        .with("description", description)
        .with("currency", currency)
}

/// The running figures of a statement, in minor units.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statement {
    /// Approved value per currency, corrections counted once.
    pub approved: BTreeMap<String, i128>,
    /// What the project owes the contributor: the account's balance.
    pub owed: i128,
    /// Money that came to the account.
    pub earned: i128,
    /// Money that left it.
    pub paid: i128,
}

impl Statement {
    /// The line of one contribution; an approved one counts in its
    /// currency's total.
    pub fn contribution(&mut self, entry: &ContributionEntry, units: &Units) -> Line {
        let currency = entry.currency.as_deref().unwrap_or_default();
        if let (true, Some(value)) = (entry.counts(), entry.value) {
            *self.approved.entry(currency.to_owned()).or_default() += i128::from(value);
        }
        let description = entry.dataset_title.as_ref().unwrap_or(&entry.description);
        let status = if entry.replaced {
            "replaced"
        } else {
            &entry.status
        };
        let value = entry.value.map(|v| money(units, currency, i128::from(v)));
        summary("contribution", description, currency)
            .with("date", entry.date.to_string())
            .with("reference", &entry.id)
            .with("kind", &entry.kind)
            .with("quantity", entry.quantity_text())
            .with("unit", &entry.unit)
            .with("status", status)
            .with("value", value.unwrap_or_default())
    }

    /// The approved value per currency.
    pub fn approved_totals(&self, units: &Units) -> Vec<Line> {
        let description = "approved contributions, corrections counted once";
        self.approved
            .iter()
            .map(|(currency, total)| {
                summary("total_approved_value", description, currency)
                    .with("value", money(units, currency, *total))
            })
            .collect()
    }

    /// The balance owed before the period starts on `from`.
    pub fn opening(&mut self, from: NaiveDate, owed: i128, currency: &str, units: &Units) -> Line {
        self.owed = owed;
        summary("opening", "balance owed before the period", currency)
            .with("date", from.to_string())
            .with("balance_owed", money(units, currency, owed))
    }

    /// The line of one posting on the contributor's account: earned when
    /// it came in, paid when it left, and the balance owed after it.
    pub fn movement(&mut self, movement: &Movement, units: &Units) -> Line {
        let signed = i128::from(movement.signed);
        let currency = &movement.currency;
        self.owed += signed;
        let (column, amount) = if signed >= 0 {
            self.earned += signed;
            ("earned", signed)
        } else {
            self.paid -= signed;
            ("paid", -signed)
        };
        let kind = movement.kind.as_str();
        let section = if movement.reversal { "reversal" } else { kind };
        summary(section, &movement.description, currency)
            .with("date", movement.date.to_string())
            .with("reference", movement.run_or_payout())
            .with("transaction_id", &movement.transaction_id)
            .with("kind", kind)
            .with(column, money(units, currency, amount))
            .with("balance_owed", money(units, currency, self.owed))
    }

    /// The totals earned and paid, and the balance owed at the period's
    /// end `to` on the contributor's `account`.
    pub fn closing(
        &self,
        account: &str,
        to: Option<NaiveDate>,
        currency: &str,
        units: &Units,
    ) -> [Line; 3] {
        let earned = "money that came to the contributor's account";
        let paid = "money that left it (payouts, net of reversals)";
        [
            summary("total_earned", earned, currency)
                .with("earned", money(units, currency, self.earned)),
            summary("total_paid", paid, currency).with("paid", money(units, currency, self.paid)),
            summary("balance_owed", "opening + earned - paid", currency)
                .with("date", date_text(to))
                .with("reference", account)
                .with("balance_owed", money(units, currency, self.owed)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TransactionKind;
    use crate::domain::reports::contributions::tests::contribution;
    use crate::domain::reports::movement::Record;
    use crate::domain::reports::test_support::{self, day, units};

    fn moved(signed: i64, kind: TransactionKind, reversal: bool) -> Movement {
        Movement {
            reversal,
            ..test_support::moved(kind, signed)
        }
    }

    #[test]
    fn the_balance_owed_runs_from_the_opening_through_every_posting() {
        use TransactionKind::*;
        let units = units();
        let mut statement = Statement::default();
        let opening = statement.opening(day("2026-01-01"), 5_000, "EUR", &units);
        assert_eq!(opening.get("balance_owed"), "50.00");
        let owed: Vec<String> = [
            moved(45_000, Distribution, false),
            moved(-20_000, Payout, false),
            moved(20_000, Payout, true),
            moved(-30_000, Payout, false),
        ]
        .iter()
        .map(|m| statement.movement(m, &units).get("balance_owed").to_owned())
        .collect();
        assert_eq!(owed, ["500.00", "300.00", "500.00", "200.00"]);
        let [earned, paid, balance] = statement.closing("contributor:a", None, "EUR", &units);
        assert_eq!(
            earned.get("earned"),
            "650.00",
            "the reversed payout came back in"
        );
        assert_eq!(paid.get("paid"), "500.00");
        assert_eq!(balance.get("balance_owed"), "200.00");
        assert_eq!(
            statement.owed,
            5_000 + statement.earned - statement.paid,
            "opening + earned - paid"
        );
    }

    #[test]
    fn a_reversal_line_keeps_the_kind_it_undid() {
        let units = units();
        let mut statement = Statement::default();
        let mut payout = moved(20_000, TransactionKind::Payout, true);
        payout.record = Some(Record::Payout {
            reference: "SEPA-1".to_owned(),
        });
        let line = statement.movement(&payout, &units);
        assert_eq!(
            (line.get("section"), line.get("kind")),
            ("reversal", "payout")
        );
        assert_eq!(line.get("reference"), "SEPA-1");
        assert_eq!(line.get("earned"), "200.00");
        assert_eq!(line.get("paid"), "");
    }

    #[test]
    fn approved_totals_count_corrections_once() {
        let units = units();
        let mut statement = Statement::default();
        let mut replaced = contribution("c1", "approved", Some(10_000));
        replaced.replaced = true;
        let entries = [
            replaced,
            contribution("c2", "approved", Some(12_000)),
            contribution("c3", "pending", Some(99_900)),
            contribution("c4", "approved", None),
        ];
        let statuses: Vec<String> = entries
            .iter()
            .map(|c| statement.contribution(c, &units).get("status").to_owned())
            .collect();
        assert_eq!(statuses, ["replaced", "approved", "pending", "approved"]);
        let totals = statement.approved_totals(&units);
        assert_eq!(totals.len(), 1);
        assert_eq!(
            (totals[0].get("value"), totals[0].get("currency")),
            ("120.00", "EUR")
        );
    }

    #[test]
    fn an_empty_statement_closes_at_zero() {
        let units = units();
        let statement = Statement::default();
        assert!(statement.approved_totals(&units).is_empty());
        let [earned, paid, balance] =
            statement.closing("contributor:a", Some(day("2026-12-31")), "EUR", &units);
        assert_eq!((earned.get("earned"), paid.get("paid")), ("0.00", "0.00"));
        assert_eq!(balance.get("date"), "2026-12-31");
        assert_eq!(balance.get("balance_owed"), "0.00");
    }

    #[test]
    fn large_sums_do_not_overflow() {
        let units = units();
        let mut statement = Statement::default();
        for _ in 0..4 {
            statement.movement(
                &moved(i64::MAX, TransactionKind::Distribution, false),
                &units,
            );
        }
        assert_eq!(statement.earned, i128::from(i64::MAX) * 4);
        assert_eq!(statement.owed, statement.earned);
    }
}
