//! The pure domain: money and units, account names, ledger transactions and the
//! invariants they obey. Nothing here performs I/O or knows about HTTP or SQL, so
//! every rule can be unit- and property-tested in isolation.

pub mod access;
pub mod account;
pub mod agent;
pub mod allocation;
pub mod contribution;
pub mod distribution;
pub mod funds;
pub mod hash;
pub mod ids;
pub mod licence;
pub mod managed;
pub mod money;
pub mod project;
pub mod reports;
pub mod transaction;

pub use account::{AccountName, AccountNameError};
pub use money::{Amount, AmountError, Unit, UnitError, UnitKind};
pub use transaction::{
    AccountState, Balances, NewPosting, NewTransaction, TransactionError, TransactionKind,
};
