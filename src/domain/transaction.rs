//! Ledger transactions: one or more postings that move an amount of a unit from
//! one account to another, applied atomically to account balances.
//!
//! The invariants of the ledger are checked here before anything is written,
//! and the database enforces the same rules again (see the migrations).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::account::AccountName;
use super::money::Amount;

/// Most postings one transaction may hold; a larger batch is refused so a
/// single request cannot hold the ledger's locks for long.
pub const POSTINGS_PER_TRANSACTION_MAX: usize = 500;
/// Longest description accepted, in characters.
pub const DESCRIPTION_LENGTH_MAX: usize = 1_000;
/// Largest metadata object accepted, in bytes of its JSON encoding.
pub const METADATA_BYTES_MAX: usize = 8_192;

/// What a transaction records. Kinds other than `transfer` and `adjustment`
/// are written only by the endpoints that own them (grants, expenses, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    Transfer,
    Adjustment,
    Grant,
    Donation,
    Expense,
    Distribution,
    Payout,
    Exchange,
    Reversal,
    /// Money a funder let out of a restricted grant's pool into the
    /// general pool (`POST .../grants/{grant_id}/releases`).
    Release,
}

impl TransactionKind {
    pub const ALL: [TransactionKind; 10] = [
        TransactionKind::Transfer,
        TransactionKind::Adjustment,
        TransactionKind::Grant,
        TransactionKind::Donation,
        TransactionKind::Expense,
        TransactionKind::Distribution,
        TransactionKind::Payout,
        TransactionKind::Exchange,
        TransactionKind::Reversal,
        TransactionKind::Release,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TransactionKind::Transfer => "transfer",
            TransactionKind::Adjustment => "adjustment",
            TransactionKind::Grant => "grant",
            TransactionKind::Donation => "donation",
            TransactionKind::Expense => "expense",
            TransactionKind::Distribution => "distribution",
            TransactionKind::Payout => "payout",
            TransactionKind::Exchange => "exchange",
            TransactionKind::Reversal => "reversal",
            TransactionKind::Release => "release",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// Whether the generic transactions endpoint may post this kind.
    pub fn is_generic(self) -> bool {
        matches!(
            self,
            TransactionKind::Transfer | TransactionKind::Adjustment
        )
    }
}

/// One movement of `amount` of `unit` from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPosting {
    pub from: AccountName,
    pub to: AccountName,
    pub amount: Amount,
    pub unit: String,
}

/// A transaction that has passed every check that does not need the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransaction {
    pub kind: TransactionKind,
    pub effective_date: NaiveDate,
    pub description: String,
    /// Canonical JSON text of the metadata object (keys sorted).
    pub metadata: String,
    pub postings: Vec<NewPosting>,
}

/// What the ledger knows of an account when a transaction is applied: read
/// under the same lock as the write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountState {
    pub id: String,
    pub unit: String,
    /// Decimals of the unit, for messages.
    pub scale: u32,
    pub non_negative: bool,
    pub balance: i64,
    /// What approved distribution runs reserve of the balance: money
    /// leaves the account only while it stays at or above this.
    pub reserved: i64,
}

/// Balances after each posting, in posting order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostingBalances {
    pub from_balance_after: i64,
    pub to_balance_after: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransactionError {
    #[error("account `{0}` does not exist in this project")]
    UnknownAccount(String),
    #[error("posting {index} moves {posting_unit} but account `{account}` holds {account_unit}")]
    CurrencyMismatch {
        index: usize,
        account: String,
        account_unit: String,
        posting_unit: String,
    },
    #[error("posting {index} moves money from `{account}` to itself")]
    SameAccount { index: usize, account: String },
    #[error("{}", insufficient_funds(account, unit, *scale, *index, (*balance, *reserved, *amount)))]
    InsufficientFunds {
        index: usize,
        account: String,
        unit: String,
        scale: u32,
        balance: i64,
        /// What approved distribution runs reserve of the balance.
        reserved: i64,
        amount: i64,
    },
    #[error("the balance of account `{0}` would leave the representable range")]
    BalanceOverflow(String),
    #[error("transaction does not balance in {0}")]
    Unbalanced(String),
    /// A back-dated posting that would leave a non-negative account below
    /// zero on some date, by effective date (money dated later does not
    /// count before its date).
    #[error("account `{account}` may not go below zero on any date: this transaction, dated {dated}, would leave it at {} {unit} on {date}, before money dated later arrives", Decimal::new(i64::try_from(*balance).unwrap_or(i64::MIN), *scale))]
    NegativeOnDate {
        account: String,
        unit: String,
        scale: u32,
        dated: NaiveDate,
        date: NaiveDate,
        balance: i128,
    },
    /// Dated on or before the project's closing: the books are closed
    /// through `through`.
    #[error(
        "the books are closed through {through}: nothing is dated on or before it (this is dated {date}); post a correction in the open period"
    )]
    PeriodClosed { through: NaiveDate, date: NaiveDate },
    /// Dated outside the window the ledger accepts.
    #[error(
        "{date} is outside the dates the ledger accepts: {earliest} to {latest} (one year ahead of today)"
    )]
    DateOutOfRange {
        date: NaiveDate,
        earliest: NaiveDate,
        latest: NaiveDate,
    },
}

/// By effective date, the first day on which an account would be below
/// zero: `after` is its balance once a transaction dated `dated` is
/// applied (every posting counted), `later` its movements dated after
/// `dated` (signed, in any order). Its balance on `dated` is `after` less
/// everything later; each later date then adds its movements. `None` when
/// it never goes below zero.
pub fn first_negative_day(
    after: i64,
    dated: NaiveDate,
    later: &[(NaiveDate, i64)],
) -> Option<(NaiveDate, i128)> {
    let mut by_date: BTreeMap<NaiveDate, i128> = BTreeMap::new();
    for (date, signed) in later.iter().filter(|(date, _)| *date > dated) {
        *by_date.entry(*date).or_default() += i128::from(*signed);
    }
    let mut balance = i128::from(after) - by_date.values().sum::<i128>();
    if balance < 0 {
        return Some((dated, balance));
    }
    for (date, moved) in by_date {
        balance += moved;
        if balance < 0 {
            return Some((date, balance));
        }
    }
    None
}

/// The first date the ledger accepts on anything dated.
pub const EARLIEST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(date) => date,
    None => panic!("1900-01-01 is a date"),
};

/// Whether `date` may be an effective date, `today` being today: not
/// before 1900, at most a year (366 days) ahead, and after the project's
/// closing `closed_through` if any.
pub fn check_dated(
    date: NaiveDate,
    today: NaiveDate,
    closed_through: Option<NaiveDate>,
) -> Result<(), TransactionError> {
    let latest = today
        .checked_add_days(chrono::Days::new(366))
        .unwrap_or(NaiveDate::MAX);
    if date < EARLIEST_DATE || date > latest {
        return Err(TransactionError::DateOutOfRange {
            date,
            earliest: EARLIEST_DATE,
            latest,
        });
    }
    match closed_through {
        Some(through) if date <= through => Err(TransactionError::PeriodClosed { through, date }),
        _ => Ok(()),
    }
}

/// The refusal of a posting taking more than an account may give: what it
/// holds, and when approved runs reserve some of it, what is reserved and
/// what is available.
fn insufficient_funds(
    account: &str,
    unit: &str,
    scale: u32,
    index: usize,
    (balance, reserved, amount): (i64, i64, i64),
) -> String {
    let money = |minor: i64| Decimal::new(minor, scale);
    if reserved == 0 {
        return format!(
            "account `{account}` may not go below zero: it holds {} {unit} and posting {index} takes {} {unit}",
            money(balance),
            money(amount)
        );
    }
    format!(
        "account `{account}` may not give money that approved distribution runs reserve: it holds a balance of {} {unit}, of which {} {unit} reserved and {} {unit} available, and posting {index} takes {} {unit}",
        money(balance),
        money(reserved),
        money(super::funds::available(balance, reserved)),
        money(amount)
    )
}

/// Account states by name, as read from the ledger.
pub type Balances = HashMap<AccountName, AccountState>;

impl NewTransaction {
    /// Account names the transaction touches, sorted and deduplicated: the
    /// global order in which their rows are locked.
    pub fn account_names(&self) -> Vec<AccountName> {
        let mut names: Vec<AccountName> = self
            .postings
            .iter()
            .flat_map(|p| [p.from.clone(), p.to.clone()])
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Applies the postings, in order, to `accounts`, checking every invariant a
    /// single transaction can break. On success `accounts` holds the new
    /// balances and the balances after each posting are returned; on failure
    /// the caller must discard `accounts`.
    pub fn apply(&self, accounts: &mut Balances) -> Result<Vec<PostingBalances>, TransactionError> {
        let totals_before = unit_totals(accounts);
        let mut after = Vec::with_capacity(self.postings.len());
        for (index, posting) in self.postings.iter().enumerate() {
            if posting.from == posting.to {
                return Err(TransactionError::SameAccount {
                    index,
                    account: posting.from.to_string(),
                });
            }
            let amount = posting.amount.minor();
            let from_balance_after = adjust(accounts, index, posting, &posting.from, -amount)?;
            let to_balance_after = adjust(accounts, index, posting, &posting.to, amount)?;
            after.push(PostingBalances {
                from_balance_after,
                to_balance_after,
            });
        }
        // Invariant 1, asserted rather than assumed: per unit, what left the
        // accounts equals what arrived, so their total is unchanged.
        let totals_after = unit_totals(accounts);
        if let Some((unit, _)) = totals_after
            .iter()
            .find(|(unit, total)| totals_before.get(*unit) != Some(*total))
        {
            return Err(TransactionError::Unbalanced(unit.clone()));
        }
        Ok(after)
    }
}

/// Sum of the balances of `accounts`, per unit, without overflow.
fn unit_totals(accounts: &Balances) -> BTreeMap<String, i128> {
    let mut totals = BTreeMap::new();
    for account in accounts.values() {
        *totals.entry(account.unit.clone()).or_insert(0) += i128::from(account.balance);
    }
    totals
}

/// Moves `delta` minor units into (positive) or out of (negative) an account.
fn adjust(
    accounts: &mut Balances,
    index: usize,
    posting: &NewPosting,
    name: &AccountName,
    delta: i64,
) -> Result<i64, TransactionError> {
    let account = accounts
        .get_mut(name)
        .ok_or_else(|| TransactionError::UnknownAccount(name.to_string()))?;
    if account.unit != posting.unit {
        return Err(TransactionError::CurrencyMismatch {
            index,
            account: name.to_string(),
            account_unit: account.unit.clone(),
            posting_unit: posting.unit.clone(),
        });
    }
    let balance = account
        .balance
        .checked_add(delta)
        .ok_or_else(|| TransactionError::BalanceOverflow(name.to_string()))?;
    // Money leaving keeps what approved runs reserve; money arriving is
    // never refused for a reservation.
    let floor = if delta < 0 {
        account.reserved.max(0)
    } else {
        0
    };
    if account.non_negative && balance < floor {
        return Err(TransactionError::InsufficientFunds {
            index,
            account: name.to_string(),
            unit: account.unit.clone(),
            scale: account.scale,
            balance: account.balance,
            reserved: account.reserved,
            amount: delta.saturating_neg(),
        });
    }
    account.balance = balance;
    Ok(balance)
}

/// A posting as stored, read back for a reversal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredPosting<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub amount: i64,
    pub unit: &'a str,
}

/// A transaction as stored, as much as reversing it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTransaction<'a> {
    pub id: &'a str,
    pub effective_date: NaiveDate,
    /// Whether it is itself a reversal.
    pub is_reversal: bool,
    /// Whether a reversal of it was already posted.
    pub reversed: bool,
    pub postings: Vec<StoredPosting<'a>>,
}

/// Why a transaction cannot be reversed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReversalError {
    #[error("transaction {0} is itself a reversal; post a new transaction instead")]
    OfAReversal(String),
    #[error("transaction {0} has already been reversed")]
    AlreadyReversed(String),
    /// A stored row the domain would never have written.
    #[error("transaction {0} holds an unreadable posting: {1}")]
    Unreadable(String, String),
}

/// The reversal of `original`: every posting swapped, in reverse order,
/// dated `date` (default: the original's date) and described by
/// `description` (default: "Reversal of <id>"). A transaction is reversed
/// once, and a reversal is never reversed.
pub fn reversal_of(
    original: &StoredTransaction<'_>,
    date: Option<NaiveDate>,
    description: &str,
) -> Result<NewTransaction, ReversalError> {
    if original.is_reversal {
        return Err(ReversalError::OfAReversal(original.id.to_owned()));
    }
    if original.reversed {
        return Err(ReversalError::AlreadyReversed(original.id.to_owned()));
    }
    let unreadable = |what: String| ReversalError::Unreadable(original.id.to_owned(), what);
    let postings = original
        .postings
        .iter()
        .rev()
        .map(|posting| {
            Ok(NewPosting {
                from: AccountName::parse(posting.to).map_err(|e| unreadable(e.to_string()))?,
                to: AccountName::parse(posting.from).map_err(|e| unreadable(e.to_string()))?,
                amount: Amount::from_minor(posting.amount)
                    .ok_or_else(|| unreadable(format!("amount {}", posting.amount)))?,
                unit: posting.unit.to_owned(),
            })
        })
        .collect::<Result<Vec<_>, ReversalError>>()?;
    Ok(NewTransaction {
        kind: TransactionKind::Reversal,
        effective_date: date.unwrap_or(original.effective_date),
        description: if description.is_empty() {
            format!("Reversal of {}", original.id)
        } else {
            description.to_owned()
        },
        metadata: "{}".to_owned(),
        postings,
    })
}

/// What one posting moves of an account's running value totals, kept
/// beside its balance: `(distributions earned, payouts received)`, the
/// figures a contributor's value account reports. `counted` is the kind the
/// posting counts as (its transaction's, or for a reversal the kind of the
/// transaction it undoes, so a reversed distribution is earned back) and
/// `into` whether the money goes into the account. Money into an account by
/// a distribution is earned; money out of it by a payout is received.
pub fn value_movement(counted: TransactionKind, into: bool, amount: i64) -> (i64, i64) {
    let signed = if into { amount } else { -amount };
    match counted {
        TransactionKind::Distribution => (signed, 0),
        TransactionKind::Payout => (0, signed.saturating_neg()),
        _ => (0, 0),
    }
}

/// Whether postings counted as `kind` move the value totals at all.
pub fn moves_value_totals(counted: TransactionKind) -> bool {
    matches!(
        counted,
        TransactionKind::Distribution | TransactionKind::Payout
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_back_dated_outflow_may_not_leave_an_account_negative_on_any_day() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 6, d).expect("date");
        // 100 arrives on June 10; an outflow of 60 dated June 5 leaves the
        // account at -60 from June 5 to June 9, though its balance now is 40.
        assert_eq!(
            first_negative_day(40, day(5), &[(day(10), 100)]),
            Some((day(5), -60))
        );
        // Dated on the 10th or later, it is fine.
        assert_eq!(first_negative_day(40, day(10), &[(day(10), 100)]), None);
        // Later outflows count on their own dates.
        assert_eq!(
            first_negative_day(10, day(5), &[(day(8), 30), (day(9), -50), (day(12), 20)]),
            Some((day(9), -10))
        );
        assert_eq!(first_negative_day(0, day(5), &[]), None);
    }

    use super::*;
    use proptest::prelude::*;

    fn name(text: &str) -> AccountName {
        AccountName::parse(text).expect("valid name")
    }

    fn state(id: &str, unit: &str, non_negative: bool, balance: i64) -> AccountState {
        AccountState {
            id: id.to_owned(),
            unit: unit.to_owned(),
            scale: 2,
            non_negative,
            balance,
            reserved: 0,
        }
    }

    fn posting(from: &str, to: &str, minor: i64, unit: &str) -> NewPosting {
        NewPosting {
            from: name(from),
            to: name(to),
            amount: Amount::from_minor(minor).expect("positive"),
            unit: unit.to_owned(),
        }
    }

    fn transaction(postings: Vec<NewPosting>) -> NewTransaction {
        NewTransaction {
            kind: TransactionKind::Transfer,
            effective_date: NaiveDate::from_ymd_opt(2026, 3, 1).expect("date"),
            description: String::new(),
            metadata: "{}".to_owned(),
            postings,
        }
    }

    fn ledger() -> Balances {
        Balances::from([
            (name("funder:a"), state("1", "EUR", false, 0)),
            (name("pool:general"), state("2", "EUR", true, 0)),
            (name("reserve"), state("3", "EUR", true, 0)),
            (name("pool:usd"), state("4", "USD", true, 0)),
        ])
    }

    #[test]
    fn postings_apply_in_order_and_report_running_balances() {
        let mut accounts = ledger();
        let tx = transaction(vec![
            posting("funder:a", "pool:general", 10_000, "EUR"),
            posting("pool:general", "reserve", 2_500, "EUR"),
        ]);
        let after = tx.apply(&mut accounts).expect("valid");
        assert_eq!(after[0].from_balance_after, -10_000);
        assert_eq!(after[0].to_balance_after, 10_000);
        assert_eq!(after[1].from_balance_after, 7_500);
        assert_eq!(accounts[&name("reserve")].balance, 2_500);
    }

    #[test]
    fn rule_violations_are_refused() {
        type Expectation = fn(&TransactionError) -> bool;
        let cases: Vec<(NewPosting, Expectation, &str)> = vec![
            (
                posting("pool:general", "reserve", 1, "EUR"),
                |e| matches!(e, TransactionError::InsufficientFunds { .. }),
                "non-negative pool cannot be overdrawn",
            ),
            (
                posting("funder:a", "nowhere", 1, "EUR"),
                |e| matches!(e, TransactionError::UnknownAccount(_)),
                "unknown account",
            ),
            (
                posting("funder:a", "pool:usd", 1, "EUR"),
                |e| matches!(e, TransactionError::CurrencyMismatch { .. }),
                "posting unit must match the account",
            ),
            (
                posting("funder:a", "funder:a", 1, "EUR"),
                |e| matches!(e, TransactionError::SameAccount { .. }),
                "no self-transfer",
            ),
        ];
        for (p, expected, rule) in cases {
            let err = transaction(vec![p]).apply(&mut ledger()).expect_err(rule);
            assert!(expected(&err), "{rule}: got {err:?}");
        }
    }

    #[test]
    fn refusals_speak_in_the_unit_not_in_minor_units() {
        let err = transaction(vec![posting("pool:general", "reserve", 12_345, "EUR")])
            .apply(&mut ledger())
            .expect_err("empty pool");
        assert_eq!(
            err.to_string(),
            "account `pool:general` may not go below zero: it holds 0.00 EUR and posting 0 takes 123.45 EUR"
        );
    }

    #[test]
    fn balance_overflow_is_an_error_not_a_wrap() {
        let mut accounts = ledger();
        accounts.get_mut(&name("funder:a")).expect("exists").balance = i64::MIN + 5;
        let err = transaction(vec![posting("funder:a", "pool:general", 10, "EUR")])
            .apply(&mut accounts)
            .expect_err("overflow");
        assert_eq!(
            err,
            TransactionError::BalanceOverflow("funder:a".to_owned())
        );
    }

    proptest! {
        /// Whatever transfers are applied, per unit the balances sum to zero,
        /// no non-negative account goes below zero, and every balance equals
        /// the sum of the postings that touched it.
        #[test]
        fn random_transfers_keep_every_invariant(
            moves in prop::collection::vec((0usize..4, 0usize..4, 1i64..5_000), 1..200)
        ) {
            let names = ["funder:a", "pool:general", "reserve", "funder:b"];
            let mut accounts = Balances::from([
                (name("funder:a"), state("1", "EUR", false, 0)),
                (name("pool:general"), state("2", "EUR", true, 0)),
                (name("reserve"), state("3", "EUR", true, 0)),
                (name("funder:b"), state("4", "EUR", false, 0)),
            ]);
            let mut sums: HashMap<&str, i64> = HashMap::new();
            for (from, to, minor) in moves {
                let tx = transaction(vec![posting(names[from], names[to], minor, "EUR")]);
                let mut attempt = accounts.clone();
                if tx.apply(&mut attempt).is_ok() {
                    accounts = attempt;
                    *sums.entry(names[from]).or_default() -= minor;
                    *sums.entry(names[to]).or_default() += minor;
                }
            }
            let total: i64 = accounts.values().map(|a| a.balance).sum();
            prop_assert_eq!(total, 0);
            for (account_name, account) in &accounts {
                prop_assert!(!account.non_negative || account.balance >= 0);
                prop_assert_eq!(account.balance, sums.get(account_name.as_str()).copied().unwrap_or(0));
            }
        }
    }

    fn stored<'a>(postings: Vec<StoredPosting<'a>>) -> StoredTransaction<'a> {
        StoredTransaction {
            id: "t1",
            effective_date: NaiveDate::from_ymd_opt(2026, 3, 1).expect("date"),
            is_reversal: false,
            reversed: false,
            postings,
        }
    }

    #[test]
    fn a_reversal_swaps_every_posting_in_reverse_order() {
        let original = stored(vec![
            StoredPosting {
                from: "a",
                to: "b",
                amount: 100,
                unit: "EUR",
            },
            StoredPosting {
                from: "b",
                to: "c",
                amount: 40,
                unit: "EUR",
            },
        ]);
        let reversal = reversal_of(&original, None, "").expect("reversal");
        assert_eq!(reversal.kind, TransactionKind::Reversal);
        assert_eq!(reversal.effective_date, original.effective_date);
        assert_eq!(reversal.description, "Reversal of t1");
        let legs: Vec<(&str, &str, i64)> = reversal
            .postings
            .iter()
            .map(|p| (p.from.as_str(), p.to.as_str(), p.amount.minor()))
            .collect();
        assert_eq!(legs, [("c", "b", 40), ("b", "a", 100)]);
        let dated = NaiveDate::from_ymd_opt(2026, 4, 1).expect("date");
        let named = reversal_of(&original, Some(dated), "refund").expect("reversal");
        assert_eq!(
            (named.effective_date, named.description.as_str()),
            (dated, "refund")
        );
    }

    #[test]
    fn a_reversal_is_made_once_and_never_of_a_reversal() {
        let mut original = stored(Vec::new());
        original.reversed = true;
        assert_eq!(
            reversal_of(&original, None, ""),
            Err(ReversalError::AlreadyReversed("t1".to_owned()))
        );
        original.is_reversal = true;
        assert_eq!(
            reversal_of(&original, None, ""),
            Err(ReversalError::OfAReversal("t1".to_owned()))
        );
    }

    #[test]
    fn an_unreadable_stored_posting_is_an_error_not_a_default() {
        let original = stored(vec![StoredPosting {
            from: "a",
            to: "b",
            amount: 0,
            unit: "EUR",
        }]);
        assert!(matches!(
            reversal_of(&original, None, ""),
            Err(ReversalError::Unreadable(..))
        ));
    }

    #[test]
    fn money_leaves_an_account_only_above_what_it_reserves() {
        let mut pool = state("p", "EUR", true, 1_000);
        pool.reserved = 600;
        let accounts: Balances = [
            (name("pool:general"), pool),
            (name("expense:travel"), state("e", "EUR", false, 0)),
        ]
        .into_iter()
        .collect();
        let over = transaction(vec![posting("pool:general", "expense:travel", 401, "EUR")]);
        let refused = over
            .apply(&mut accounts.clone())
            .expect_err("into reserved money");
        assert!(matches!(
            refused,
            TransactionError::InsufficientFunds {
                balance: 1_000,
                reserved: 600,
                amount: 401,
                ..
            }
        ));
        let text = refused.to_string();
        assert!(
            text.contains("10.00 EUR") && text.contains("6.00 EUR") && text.contains("4.00 EUR"),
            "{text}"
        );
        let within = transaction(vec![posting("pool:general", "expense:travel", 400, "EUR")]);
        within
            .apply(&mut accounts.clone())
            .expect("the free part may leave");
        // Money arriving is never refused for a reservation.
        let mut short = accounts.clone();
        if let Some(pool) = short.get_mut(&name("pool:general")) {
            pool.balance = 100;
        }
        let back = transaction(vec![posting("expense:travel", "pool:general", 1, "EUR")]);
        back.apply(&mut short).expect("an inflow is always welcome");
    }
}
