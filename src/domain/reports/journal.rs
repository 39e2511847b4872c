//! journal.csv: two lines per posting, one for each account it touches
//! (debit for the account receiving, credit for the one sending), with that
//! account's balance right after the posting.

use chrono::NaiveDate;

use super::{Column, Units, columns, money};
use crate::domain::TransactionKind;

/// The header row of journal.csv, in order.
pub const JOURNAL_COLUMNS: [Column; 15] = columns(
    "transaction_id,sequence,kind,effective_date,recorded_at,account,counter_account,debit,credit,currency,balance,description,reverses,reversed_by,hash",
);

/// A posted transaction as the reports read it, accounts by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub sequence: i64,
    pub kind: TransactionKind,
    pub effective_date: NaiveDate,
    /// When it was recorded, RFC 3339 UTC.
    pub recorded_at: String,
    pub description: String,
    /// The transaction a reversal undoes.
    pub reverses: Option<String>,
    /// The reversal that undid this one.
    pub reversed_by: Option<String>,
    pub hash: String,
    pub postings: Vec<EntryPosting>,
}

/// One posting of an entry, with both accounts' balances right after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPosting {
    pub from: String,
    pub to: String,
    /// Minor units, positive.
    pub amount: i64,
    pub currency: String,
    pub from_balance_after: i64,
    pub to_balance_after: i64,
}

impl EntryPosting {
    /// The two sides of the posting: the receiving account first, then the
    /// sending one, each with the other account, whether it receives, and
    /// its balance after the posting.
    pub fn sides(&self) -> [(&str, &str, bool, i64); 2] {
        [
            (&self.to, &self.from, true, self.to_balance_after),
            (&self.from, &self.to, false, self.from_balance_after),
        ]
    }
}

/// One line of journal.csv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalLine<'a> {
    pub entry: &'a Entry,
    pub sequence: String,
    pub effective_date: String,
    pub account: &'a str,
    pub counter_account: &'a str,
    pub debit: String,
    pub credit: String,
    pub currency: &'a str,
    pub balance: String,
}

impl JournalLine<'_> {
    pub fn cells(&self) -> [&str; 15] {
        let entry = self.entry;
        [
            &entry.id,
            &self.sequence,
            entry.kind.as_str(),
            &self.effective_date,
            &entry.recorded_at,
            self.account,
            self.counter_account,
            &self.debit,
            &self.credit,
            self.currency,
            &self.balance,
            &entry.description,
            entry.reverses.as_deref().unwrap_or(""),
            entry.reversed_by.as_deref().unwrap_or(""),
            &entry.hash,
        ]
    }
}

/// The lines of one entry: two per posting, in posting order.
pub fn journal_lines<'a>(entry: &'a Entry, units: &Units) -> Vec<JournalLine<'a>> {
    let sequence = entry.sequence.to_string();
    let effective_date = entry.effective_date.to_string();
    let mut lines = Vec::with_capacity(entry.postings.len() * 2);
    for posting in &entry.postings {
        let amount = money(units, &posting.currency, i128::from(posting.amount));
        for (account, counter_account, receives, balance) in posting.sides() {
            let (debit, credit) = if receives {
                (amount.clone(), String::new())
            } else {
                (String::new(), amount.clone())
            };
            lines.push(JournalLine {
                entry,
                sequence: sequence.clone(),
                effective_date: effective_date.clone(),
                account,
                counter_account,
                debit,
                credit,
                currency: &posting.currency,
                balance: money(units, &posting.currency, i128::from(balance)),
            });
        }
    }
    lines
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::reports::test_support::{day, units};

    pub fn entry(sequence: i64, postings: &[(&str, &str, i64, i64, i64)]) -> Entry {
        Entry {
            id: format!("t{sequence}"),
            sequence,
            kind: TransactionKind::Transfer,
            effective_date: day("2026-03-01"),
            recorded_at: "2026-03-01T10:00:00.000000Z".to_owned(),
            description: "moved".to_owned(),
            reverses: None,
            reversed_by: None,
            hash: "h".to_owned(),
            postings: postings
                .iter()
                .map(|&(from, to, amount, from_after, to_after)| EntryPosting {
                    from: from.to_owned(),
                    to: to.to_owned(),
                    amount,
                    currency: "EUR".to_owned(),
                    from_balance_after: from_after,
                    to_balance_after: to_after,
                })
                .collect(),
        }
    }

    #[test]
    fn a_posting_gives_a_debit_line_and_a_credit_line() {
        let entry = entry(7, &[("pool:general", "bank", 1250, -1250, 1250)]);
        let units = units();
        let lines = journal_lines(&entry, &units);
        let cells: Vec<[&str; 15]> = lines.iter().map(JournalLine::cells).collect();
        assert_eq!(cells.len(), 2);
        assert_eq!(
            &cells[0][5..11],
            &["bank", "pool:general", "12.50", "", "EUR", "12.50"]
        );
        assert_eq!(
            &cells[1][5..11],
            &["pool:general", "bank", "", "12.50", "EUR", "-12.50"]
        );
        assert_eq!(&cells[0][..4], &["t7", "7", "transfer", "2026-03-01"]);
    }

    #[test]
    fn an_entry_without_postings_has_no_lines() {
        assert!(journal_lines(&entry(1, &[]), &units()).is_empty());
    }
}
