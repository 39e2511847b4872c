//! grants/{grant_id}.csv as a fold: the movements of a grant's pool sorted
//! into received, spent, distributed and other, totals per expense category
//! and per distribution run, what remains, then the in-kind contributions of
//! the grant's period. Cash and in-kind stay in separate columns.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use super::contributions::{ContributionEntry, in_kind_category};
use super::movement::{Movement, Record};
use super::{Column, Line, Units, columns, date_text, money};
use crate::domain::TransactionKind;

/// The header row of a grant report, in order.
pub const GRANT_COLUMNS: [Column; 12] = columns(
    "section,date,reference,transaction_id,description,category,funder_category,contributor,method,cash,in_kind,currency",
);

/// Where a contribution's in-kind value counts (each counts toward one
/// grant's match at most).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocation {
    ThisGrant,
    OtherGrant,
    None,
}

/// The grant a report is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantFacts {
    pub reference: String,
    /// The transaction that received it.
    pub transaction_id: String,
    pub currency: String,
    /// The name of its pool account.
    pub pool: String,
    /// Whether the pool is the general one, shared with other income.
    pub shared: bool,
}

/// Sums of a grant report, in minor units of the grant's currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantTotals {
    pub opening: i128,
    pub received: i128,
    pub spent: i128,
    pub distributed: i128,
    pub released: i128,
    /// Exchanged out of the pool into another currency, net of what came in
    /// by exchange.
    pub exchanged: i128,
    /// Whether any exchange moved the pool: only then does the report show
    /// a total of exchanges (a grant in one currency reads as before).
    pub any_exchange: bool,
    pub other: i128,
    pub by_category: BTreeMap<String, i128>,
    pub by_run: BTreeMap<String, i128>,
    /// Approved in-kind value per currency.
    pub in_kind: BTreeMap<String, i128>,
    /// Approved in-kind value of the period allocated to no grant, per
    /// currency.
    pub in_kind_unallocated: BTreeMap<String, i128>,
}

impl GrantTotals {
    /// Opening + received - spent - distributed - released - exchanged +
    /// other: the pool's balance.
    pub fn remaining(&self) -> i128 {
        self.opening + self.received
            - self.spent
            - self.distributed
            - self.released
            - self.exchanged
            + self.other
    }
}

/// A grant report being folded.
#[derive(Debug, Clone)]
pub struct GrantReport {
    pub grant: GrantFacts,
    /// Funder cost categories of the project's expense categories, by name.
    pub categories: HashMap<String, String>,
    pub totals: GrantTotals,
}

impl GrantReport {
    pub fn new(grant: GrantFacts, categories: HashMap<String, String>) -> Self {
        GrantReport {
            grant,
            categories,
            totals: GrantTotals::default(),
        }
    }

    fn cash(&self, minor: i128, units: &Units) -> String {
        money(units, &self.grant.currency, minor)
    }

    /// A line of `section` with its category and the funder category that
    /// maps to, in the grant's currency.
    fn line(&self, section: &str, category: &str) -> Line {
        let funder_category = self.categories.get(category).map_or("", String::as_str);
        Line::new(&GRANT_COLUMNS)
            .with("section", section)
            .with("category", category)
            .with("funder_category", funder_category)
            .with("currency", &self.grant.currency)
    }

    /// A line about the pool as a whole.
    fn pool_line(&self, section: &str, date: String, description: &str, cash: String) -> Line {
        self.line(section, "")
            .with("date", date)
            .with("reference", &self.grant.pool)
            .with("description", description)
            .with("cash", cash)
    }

    /// The pool's balance before the period starts on `from`.
    pub fn opening(&mut self, from: NaiveDate, balance: i128, units: &Units) -> Line {
        self.totals.opening = balance;
        let description = "the pool's balance before the period";
        let cash = self.cash(balance, units);
        self.pool_line("opening", from.to_string(), description, cash)
    }

    /// The line of one movement of the pool, counted in its section.
    pub fn movement(&mut self, movement: &Movement, units: &Units) -> Line {
        let signed = i128::from(movement.signed);
        let totals = &mut self.totals;
        let own = !self.grant.shared || movement.source == self.grant.transaction_id;
        let record = movement.record.as_ref();
        // (section, reference, category, amount, who received a distribution)
        let (section, reference, category, amount, recipient) = match movement.kind {
            TransactionKind::Grant | TransactionKind::Donation if own => {
                totals.received += signed;
                ("received", self.grant.reference.as_str(), "", signed, "")
            }
            TransactionKind::Expense => {
                let (category, supplier) = match record {
                    Some(Record::Expense { category, supplier }) => {
                        (category.as_str(), supplier.as_str())
                    }
                    _ => ("", ""),
                };
                totals.spent -= signed;
                *totals.by_category.entry(category.to_owned()).or_default() -= signed;
                ("spent", supplier, category, -signed, "")
            }
            TransactionKind::Distribution => {
                let run = match record {
                    Some(Record::Run { id }) => id.as_str(),
                    _ => "",
                };
                totals.distributed -= signed;
                *totals.by_run.entry(run.to_owned()).or_default() -= signed;
                ("distributed", run, "", -signed, movement.counter.as_str())
            }
            TransactionKind::Release => {
                totals.released -= signed;
                ("released", movement.counter.as_str(), "", -signed, "")
            }
            TransactionKind::Exchange => {
                totals.exchanged -= signed;
                totals.any_exchange = true;
                ("exchanged", movement.counter.as_str(), "", -signed, "")
            }
            _ => {
                totals.other += signed;
                let reference = match record {
                    Some(Record::Grant { reference }) => reference,
                    _ => &movement.counter,
                };
                ("other", reference.as_str(), "", signed, "")
            }
        };
        let mut description = if movement.reversal {
            format!("reversal: {}", movement.description)
        } else {
            movement.description.clone()
        };
        if let Some(Record::Exchange { rate, source }) = record {
            description = format!("{description} at {rate} ({source})");
        }
        self.line(section, category)
            .with("date", movement.date.to_string())
            .with("reference", reference)
            .with("transaction_id", &movement.transaction_id)
            .with("description", description)
            .with("contributor", recipient)
            .with("cash", self.cash(amount, units))
            .with("currency", &movement.currency)
    }

    /// The totals by category and by run, the section totals and what
    /// remains at the period's end `to`.
    pub fn closing(&self, to: Option<NaiveDate>, units: &Units) -> Vec<Line> {
        let totals = &self.totals;
        let mut lines = Vec::new();
        for (category, spent) in &totals.by_category {
            let cash = self.cash(*spent, units);
            lines.push(self.line("spent_by_category", category).with("cash", cash));
        }
        for (run, distributed) in &totals.by_run {
            let cash = self.cash(*distributed, units);
            let line = self.line("distributed_by_run", "");
            lines.push(line.with("reference", run).with("cash", cash));
        }
        let sections = [
            (
                "total_received",
                totals.received,
                "received, net of reversals",
            ),
            (
                "total_spent",
                totals.spent,
                "paid as expenses, net of reversals",
            ),
            (
                "total_distributed",
                totals.distributed,
                "distributed to contributors and accounts, net of reversals",
            ),
            (
                "total_released",
                totals.released,
                "released to the general pool with the funder's consent, net of reversals",
            ),
            (
                "total_other",
                totals.other,
                "other movements of the pool (other income of a shared pool, transfers)",
            ),
            (
                "remaining",
                totals.remaining(),
                "opening + received - spent - distributed - released + other",
            ),
        ];
        let mut sections = sections.to_vec();
        if totals.any_exchange {
            sections.insert(
                4,
                (
                    "total_exchanged",
                    totals.exchanged,
                    "exchanged into other currencies (the grant's pools of those currencies follow), net of what came in by exchange and of reversals",
                ),
            );
            sections[6].2 =
                "opening + received - spent - distributed - released - exchanged + other";
        }
        for (section, amount, description) in sections {
            let cash = self.cash(amount, units);
            lines.push(self.pool_line(section, date_text(to), description, cash));
        }
        lines
    }

    /// The line of an approved in-kind contribution of the grant's period
    /// allocated to this grant, valued with its named method; none for one
    /// replaced by a correction, not valued, or allocated elsewhere. One
    /// allocated to no grant counts only in the unallocated total.
    pub fn in_kind(
        &mut self,
        entry: &ContributionEntry,
        allocation: Allocation,
        units: &Units,
    ) -> Option<Line> {
        if entry.replaced {
            return None;
        }
        let (value, currency) = entry.valued()?;
        match allocation {
            Allocation::ThisGrant => {}
            Allocation::OtherGrant => return None,
            Allocation::None => {
                *self
                    .totals
                    .in_kind_unallocated
                    .entry(currency.to_owned())
                    .or_default() += i128::from(value);
                return None;
            }
        }
        *self.totals.in_kind.entry(currency.to_owned()).or_default() += i128::from(value);
        let category = in_kind_category(&entry.kind);
        let description = format!("{} {} {}", entry.kind, entry.quantity_text(), entry.unit);
        let method = entry.rate.as_ref().map_or("", |rate| rate.method.as_str());
        let line = self
            .line("in_kind", &category)
            .with("date", entry.date.to_string())
            .with("reference", &entry.id)
            .with("description", description)
            .with("contributor", &entry.agent_id)
            .with("method", method)
            .with("in_kind", money(units, currency, i128::from(value)))
            .with("currency", currency);
        Some(line)
    }

    /// The approved in-kind value allocated to the grant per currency, then
    /// what of the grant's period is allocated to no grant (only where
    /// there is some).
    pub fn in_kind_totals(&self, units: &Units) -> Vec<Line> {
        let total = |section: &str, description: &str, (currency, value): (&String, &i128)| {
            Line::new(&GRANT_COLUMNS)
                .with("section", section)
                .with("description", description)
                .with("in_kind", money(units, currency, *value))
                .with("currency", currency)
        };
        let allocated =
            "approved in-kind contributions of the grant's period allocated to this grant";
        let unallocated =
            "approved in-kind contributions of the grant's period allocated to no grant";
        self.totals
            .in_kind
            .iter()
            .map(|entry| total("total_in_kind", allocated, entry))
            .chain(
                self.totals
                    .in_kind_unallocated
                    .iter()
                    .filter(|(_, value)| **value != 0)
                    .map(|entry| total("total_in_kind_unallocated", unallocated, entry)),
            )
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::reports::contributions::tests::contribution;
    use crate::domain::reports::test_support::{self, day, units};

    fn report(shared: bool) -> GrantReport {
        let grant = GrantFacts {
            reference: "FH-2026-017".to_owned(),
            transaction_id: "t-grant".to_owned(),
            currency: "EUR".to_owned(),
            pool: "pool:grant:fh".to_owned(),
            shared,
        };
        let categories = HashMap::from([
            ("travel".to_owned(), "C.1 travel".to_owned()),
            ("in-kind-time".to_owned(), "A personnel costs".to_owned()),
        ]);
        GrantReport::new(grant, categories)
    }

    fn moved(kind: TransactionKind, signed: i64, record: Option<Record>) -> Movement {
        Movement {
            record,
            ..test_support::moved(kind, signed)
        }
    }

    fn expense(category: &str) -> Option<Record> {
        Some(Record::Expense {
            category: category.to_owned(),
            supplier: "SNCF".to_owned(),
        })
    }

    fn run(id: &str) -> Option<Record> {
        Some(Record::Run { id: id.to_owned() })
    }

    #[test]
    fn the_sections_add_up_to_what_remains() {
        use TransactionKind::*;
        let units = units();
        let mut report = report(false);
        report.opening(day("2026-01-01"), 10_000, &units);
        let movements = [
            moved(Grant, 1_000_000, None),
            moved(Expense, -120_000, expense("travel")),
            moved(Expense, -30_000, expense("travel")),
            moved(Distribution, -450_000, run("run-1")),
            moved(Release, -100_000, None),
            moved(Transfer, -5_000, None),
        ];
        let sections: Vec<String> = movements
            .iter()
            .map(|m| report.movement(m, &units).get("section").to_owned())
            .collect();
        assert_eq!(
            sections,
            [
                "received",
                "spent",
                "spent",
                "distributed",
                "released",
                "other"
            ]
        );
        let totals = &report.totals;
        assert_eq!(
            (
                totals.received,
                totals.spent,
                totals.distributed,
                totals.released,
                totals.other
            ),
            (1_000_000, 150_000, 450_000, 100_000, -5_000)
        );
        assert_eq!(totals.by_category["travel"], 150_000);
        assert_eq!(totals.by_run["run-1"], 450_000);
        let closing = report.closing(Some(day("2026-06-30")), &units);
        assert_eq!(
            test_support::section_cash(&closing),
            [
                ("spent_by_category", "1500.00"),
                ("distributed_by_run", "4500.00"),
                ("total_received", "10000.00"),
                ("total_spent", "1500.00"),
                ("total_distributed", "4500.00"),
                ("total_released", "1000.00"),
                ("total_other", "-50.00"),
                ("remaining", "3050.00"),
            ]
        );
        assert_eq!(closing[0].get("funder_category"), "C.1 travel");
        assert_eq!(closing[7].get("date"), "2026-06-30");
    }

    #[test]
    fn a_reversed_expense_nets_out() {
        use TransactionKind::*;
        let units = units();
        let mut report = report(false);
        let spent = report.movement(&moved(Expense, -30_000, expense("travel")), &units);
        let mut undone = moved(Expense, 30_000, expense("travel"));
        undone.reversal = true;
        let reversal = report.movement(&undone, &units);
        assert_eq!(
            (spent.get("cash"), reversal.get("cash")),
            ("300.00", "-300.00")
        );
        assert_eq!(reversal.get("description"), "reversal: d");
        assert_eq!(report.totals.spent, 0);
        assert_eq!(report.totals.by_category["travel"], 0);
    }

    #[test]
    fn a_shared_pool_receives_only_the_grant_itself() {
        use TransactionKind::*;
        let units = units();
        let mut report = report(true);
        let mut own = moved(Grant, 1_000, None);
        own.source = "t-grant".to_owned();
        let other = moved(
            Donation,
            5_000,
            Some(Record::Grant {
                reference: "DON-1".to_owned(),
            }),
        );
        assert_eq!(report.movement(&own, &units).get("section"), "received");
        let line = report.movement(&other, &units);
        assert_eq!(
            (line.get("section"), line.get("reference")),
            ("other", "DON-1")
        );
        assert_eq!(
            (report.totals.received, report.totals.other),
            (1_000, 5_000)
        );
    }

    #[test]
    fn in_kind_is_kept_apart_from_cash() {
        let units = units();
        let mut report = report(false);
        let mut replaced = contribution("c0", "approved", Some(1_000));
        replaced.replaced = true;
        let this = Allocation::ThisGrant;
        assert!(report.in_kind(&replaced, this, &units).is_none());
        assert!(
            report
                .in_kind(&contribution("c1", "approved", None), this, &units)
                .is_none()
        );
        let line = report
            .in_kind(&contribution("c2", "approved", Some(30_000)), this, &units)
            .expect("a valued contribution");
        assert_eq!(line.get("description"), "time 7.50 hour");
        assert_eq!(line.get("funder_category"), "A personnel costs");
        assert_eq!((line.get("cash"), line.get("in_kind")), ("", "300.00"));
        let totals = report.in_kind_totals(&units);
        assert_eq!(totals.len(), 1);
        assert_eq!(totals[0].get("in_kind"), "300.00");
        assert_eq!(report.totals.remaining(), 0, "in-kind is no cash");
    }

    #[test]
    fn in_kind_counts_toward_one_grant_only() {
        let units = units();
        let mut report = report(false);
        let valued = |id: &str| contribution(id, "approved", Some(10_000));
        // (contribution, where it is allocated, whether this grant counts it)
        let cases = [
            ("a", Allocation::OtherGrant, false),
            ("b", Allocation::None, false),
            ("c", Allocation::None, false),
            ("d", Allocation::ThisGrant, true),
        ];
        for (id, allocation, counted) in cases {
            assert_eq!(
                report.in_kind(&valued(id), allocation, &units).is_some(),
                counted,
                "contribution {id}"
            );
        }
        let totals = report.in_kind_totals(&units);
        let cells: Vec<(&str, &str)> = totals
            .iter()
            .map(|line| (line.get("section"), line.get("in_kind")))
            .collect();
        assert_eq!(
            cells,
            [
                ("total_in_kind", "100.00"),
                ("total_in_kind_unallocated", "200.00")
            ],
            "another grant's is in neither"
        );
    }

    #[test]
    fn an_empty_pool_remains_its_opening_and_large_sums_fit() {
        use TransactionKind::*;
        let units = units();
        let mut report = report(false);
        assert!(report.in_kind_totals(&units).is_empty());
        assert_eq!(report.closing(None, &units).len(), 6, "the six totals only");
        for _ in 0..3 {
            report.movement(&moved(Grant, i64::MAX, None), &units);
        }
        assert_eq!(report.totals.remaining(), i128::from(i64::MAX) * 3);
    }
}
