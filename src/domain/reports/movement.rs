//! The postings on one account, each with the record behind it (the
//! expense, run, grant or payout its transaction recorded; for a reversal,
//! those of the transaction it undid): what the grant report and the
//! contributor statement fold.

use chrono::NaiveDate;

use super::journal::Entry;
use crate::domain::TransactionKind;

/// What a transaction recorded besides its postings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Expense {
        category: String,
        supplier: String,
    },
    Run {
        id: String,
    },
    Grant {
        reference: String,
    },
    Payout {
        reference: String,
    },
    /// An exchange's rate (bought / sold) and where it comes from.
    Exchange {
        rate: String,
        source: String,
    },
}

/// One posting on the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    pub transaction_id: String,
    /// The transaction's position in the project's ledger.
    pub sequence: i64,
    pub date: NaiveDate,
    pub description: String,
    pub currency: String,
    /// Into the account positive, out of it negative.
    pub signed: i64,
    /// The other account of the posting.
    pub counter: String,
    /// The transaction's kind; for a reversal, the kind it undid.
    pub kind: TransactionKind,
    pub reversal: bool,
    /// The transaction whose records describe it: its own, or for a
    /// reversal, the one it undid.
    pub source: String,
    /// The record of `source`, if it has one.
    pub record: Option<Record>,
}

impl Movement {
    /// The postings of `entry` on `account`, in posting order. `kind` and
    /// `record` are those of the entry, or for a reversal of the entry it
    /// undid.
    pub fn all_on(
        entry: &Entry,
        account: &str,
        kind: TransactionKind,
        record: Option<&Record>,
    ) -> Vec<Movement> {
        let source = entry.reverses.as_ref().unwrap_or(&entry.id);
        let mut movements = Vec::new();
        for posting in &entry.postings {
            for (touched, counter, receives, _) in posting.sides() {
                if touched != account {
                    continue;
                }
                movements.push(Movement {
                    transaction_id: entry.id.clone(),
                    sequence: entry.sequence,
                    date: entry.effective_date,
                    description: entry.description.clone(),
                    currency: posting.currency.clone(),
                    signed: if receives {
                        posting.amount
                    } else {
                        -posting.amount
                    },
                    counter: counter.to_owned(),
                    kind,
                    reversal: entry.reverses.is_some(),
                    source: source.clone(),
                    record: record.cloned(),
                });
            }
        }
        movements
    }

    /// The run's id, or the payout's reference, behind the movement.
    pub fn run_or_payout(&self) -> &str {
        match &self.record {
            Some(Record::Run { id }) => id,
            Some(Record::Payout { reference }) => reference,
            _ => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::reports::journal::tests::entry;

    #[test]
    fn only_the_postings_on_the_account_move_it() {
        let entry = entry(
            3,
            &[
                ("pool:general", "agent:a", 700, 300, 700),
                ("pool:general", "agent:b", 300, 0, 300),
                ("agent:a", "pool:general", 100, 600, 100),
            ],
        );
        let moved = Movement::all_on(&entry, "agent:a", TransactionKind::Transfer, None);
        let signed: Vec<i64> = moved.iter().map(|m| m.signed).collect();
        assert_eq!(signed, [700, -100]);
        assert_eq!(moved[0].counter, "pool:general");
        assert_eq!(moved[0].source, "t3");
    }

    #[test]
    fn a_reversal_is_described_by_the_transaction_it_undid() {
        let mut reversal = entry(9, &[("agent:a", "pool:general", 700, 0, 700)]);
        reversal.kind = TransactionKind::Reversal;
        reversal.reverses = Some("t3".to_owned());
        let run = Record::Run {
            id: "run-1".to_owned(),
        };
        let moved = Movement::all_on(
            &reversal,
            "agent:a",
            TransactionKind::Distribution,
            Some(&run),
        );
        assert_eq!(moved.len(), 1);
        assert!(moved[0].reversal);
        assert_eq!(moved[0].source, "t3");
        assert_eq!(moved[0].kind, TransactionKind::Distribution);
        assert_eq!(moved[0].run_or_payout(), "run-1");
    }
}
