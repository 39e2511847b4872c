//! journal.hledger: the whole journal in hledger's journal syntax, a
//! commodity directive per unit the project uses, an account directive per
//! account, one entry per transaction, closed by an assertion of every
//! account's balance as of the export's snapshot.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use super::journal::Entry;
use super::{Units, money};
use crate::domain::Unit;

/// Text on one line, for hledger descriptions and comments.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A journal being written: every account with its currency and the
/// balance it closes on, and the last effective date seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HledgerJournal {
    /// The account names in the order given.
    accounts: Vec<String>,
    closing: BTreeMap<String, (String, i64)>,
    last_date: Option<NaiveDate>,
}

impl HledgerJournal {
    /// A journal of `accounts` (name and currency).
    pub fn new(accounts: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut journal = HledgerJournal::default();
        for (name, currency) in accounts {
            journal.accounts.push(name.clone());
            journal.closing.insert(name, (currency, 0));
        }
        journal
    }

    /// The file's opening: a comment naming the project, a commodity
    /// directive per unit of the project (its currency and its accounts'),
    /// never one only another project uses, and the account directives.
    pub fn header(
        &self,
        project_name: &str,
        project_id: &str,
        currency: &str,
        units: &Units,
    ) -> String {
        let mut header = format!(
            "; commons-ledger journal of project {} ({project_id})\n; amounts are exact; balance assertions close the file\n\n",
            one_line(project_name),
        );
        let mut codes: BTreeSet<&str> = self.closing.values().map(|(c, _)| c.as_str()).collect();
        codes.insert(currency);
        for code in codes {
            let unit = match units.get(code) {
                Some(unit) => unit.clone(),
                None => match Unit::lookup(code) {
                    Ok(unit) => unit,
                    Err(_) => continue,
                },
            };
            // A trailing point tells hledger a whole-number unit has no decimals.
            let sample = unit.format_minor(100_000);
            let point = if unit.scale() == 0 { "." } else { "" };
            header.push_str(&format!("commodity {sample}{point} {code}\n"));
        }
        header.push('\n');
        for account in &self.accounts {
            header.push_str(&format!("account {account}\n"));
        }
        header.push('\n');
        header
    }

    /// The entries of a page, noting each account's last balance.
    pub fn entries(&mut self, entries: &[Entry], units: &Units) -> String {
        let mut out = String::new();
        for entry in entries {
            self.last_date = self.last_date.max(Some(entry.effective_date));
            out.push_str(&format!(
                "{} * {}  ; id:{}, kind:{}, sequence:{}\n",
                entry.effective_date,
                one_line(&entry.description).replace(';', ","),
                entry.id,
                entry.kind.as_str(),
                entry.sequence
            ));
            for posting in &entry.postings {
                for (account, _, _, balance) in posting.sides() {
                    if let Some(closing) = self.closing.get_mut(account) {
                        closing.1 = balance;
                    }
                }
                let amount = money(units, &posting.currency, i128::from(posting.amount));
                let currency = &posting.currency;
                out.push_str(&format!("    {}    {amount} {currency}\n", posting.to));
                out.push_str(&format!("    {}    -{amount} {currency}\n", posting.from));
            }
            out.push('\n');
        }
        out
    }

    /// The closing entry, dated on the last effective date, asserting every
    /// account's balance; none for an empty journal.
    pub fn closing(&self, units: &Units) -> Option<String> {
        let date = self.last_date?;
        let mut out = format!("{date} closing balance assertions\n");
        for (account, (currency, balance)) in &self.closing {
            let zero = money(units, currency, 0);
            let balance = money(units, currency, i128::from(*balance));
            out.push_str(&format!(
                "    {account}    {zero} {currency} = {balance} {currency}\n"
            ));
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::reports::journal::tests::entry;
    use crate::domain::reports::test_support::units;

    fn journal() -> HledgerJournal {
        HledgerJournal::new([
            ("bank".to_owned(), "EUR".to_owned()),
            ("pool:general".to_owned(), "EUR".to_owned()),
        ])
    }

    #[test]
    fn the_header_declares_the_project_units_and_accounts() {
        let header = journal().header("Open\nAir", "p1", "JPY", &units());
        assert!(header.starts_with("; commons-ledger journal of project Open Air (p1)\n"));
        assert!(header.contains("commodity 1000.00 EUR\ncommodity 100000. JPY\n"));
        assert!(header.contains("account bank\naccount pool:general\n"));
    }

    #[test]
    fn the_closing_asserts_the_last_balance_of_every_account() {
        let units = units();
        let mut journal = journal();
        assert_eq!(
            journal.closing(&units),
            None,
            "an empty journal has no closing"
        );
        let mut first = entry(1, &[("pool:general", "bank", 1250, -1250, 1250)]);
        first.description = "a; b".to_owned();
        let second = entry(2, &[("bank", "pool:general", 250, 1000, -1000)]);
        let text = journal.entries(&[first, second], &units);
        assert!(text.starts_with("2026-03-01 * a, b  ; id:t1, kind:transfer, sequence:1\n    bank    12.50 EUR\n    pool:general    -12.50 EUR\n\n"));
        assert_eq!(
            journal.closing(&units).expect("a closing entry"),
            "2026-03-01 closing balance assertions\n    bank    0.00 EUR = 10.00 EUR\n    pool:general    0.00 EUR = -10.00 EUR\n"
        );
    }
}
