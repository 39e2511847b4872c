//! The pure domain: money and units, account names, ledger transactions and the
//! invariants they obey. Nothing here performs I/O or knows about HTTP or SQL, so
//! every rule can be unit- and property-tested in isolation.

pub mod access;
pub mod account;
pub mod agent;
pub mod allocation;
pub mod audit;
pub mod bundle;
pub mod claims;
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

/// A stored text that names none of a type's values: a value the service
/// never writes, so storage that holds one is corrupt (and is reported, never
/// read as a default).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}`")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
}

/// A type stored as its text (`as_str`), read back with `parse`: the
/// conversions storage reads and writes it through.
macro_rules! stored_as_text {
    ($($type:ty => $what:literal),* $(,)?) => {$(
        impl TryFrom<String> for $type {
            type Error = UnknownValue;

            fn try_from(text: String) -> Result<Self, UnknownValue> {
                <$type>::parse(&text).ok_or(UnknownValue { what: $what, value: text })
            }
        }

        impl From<$type> for String {
            fn from(value: $type) -> String {
                value.as_str().to_owned()
            }
        }
    )*};
}

stored_as_text!(
    access::Role => "role",
    agent::AgentKind => "agent kind",
    transaction::TransactionKind => "transaction kind",
    contribution::ContributionKind => "contribution kind",
    contribution::QuantityUnit => "unit",
    contribution::ContributionStatus => "contribution status",
    contribution::Decision => "review decision",
    funds::PendingStatus => "payout status",
    licence::LicencePolicy => "licence policy",
    claims::ClaimStatus => "claim status",
);

#[cfg(test)]
mod stored_text_tests {
    use super::access::Role;
    use super::contribution::ContributionStatus;
    use super::*;

    #[test]
    fn a_stored_value_reads_back_and_an_unknown_one_is_refused() {
        let text = String::from(Role::Treasurer);
        assert_eq!(Role::try_from(text), Ok(Role::Treasurer));
        assert_eq!(
            ContributionStatus::try_from("maybe".to_owned()),
            Err(UnknownValue {
                what: "contribution status",
                value: "maybe".to_owned()
            })
        );
    }
}
