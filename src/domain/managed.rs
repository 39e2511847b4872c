//! The accounts the service opens and names itself, named in this one place:
//! pools of money received, funders' and contributors' accounts, and the
//! sinks of money spent, paid out or exchanged.
//!
//! | account | holds |
//! |---|---|
//! | `pool:general` | unrestricted money in the project's currency |
//! | `pool:general:<currency>` | unrestricted money in another currency |
//! | `pool:grant:<reference>` | a restricted grant's money |
//! | `funder:<agent>` | what a funder has given (goes negative) |
//! | `contributor:<agent>` | what the project owes a contributor |
//! | `expense:<category>` | what was spent, by category |
//! | `payout:<method>` | what was paid out to contributors, by method |
//! | `exchange:<currency>` | the two legs of a currency exchange |

use super::{AccountName, AccountNameError};

/// The first segments of the names above: an account under one of them is
/// the service's to open.
pub const MANAGED_PREFIXES: [&str; 6] = [
    "pool",
    "funder",
    "contributor",
    "expense",
    "payout",
    "exchange",
];

/// The general pool for `currency` in a project kept in `project_currency`.
pub fn general_pool(
    project_currency: &str,
    currency: &str,
) -> Result<AccountName, AccountNameError> {
    if project_currency == currency {
        AccountName::parse("pool:general")
    } else {
        named("pool:general", &currency.to_lowercase())
    }
}

/// A restricted grant's own pool, named by its reference.
pub fn grant_pool(reference: &str) -> Result<AccountName, AccountNameError> {
    named("pool:grant", reference)
}

pub fn funder(agent: &str) -> Result<AccountName, AccountNameError> {
    named("funder", agent)
}

pub fn contributor(agent: &str) -> Result<AccountName, AccountNameError> {
    named("contributor", agent)
}

pub fn expense(category: &str) -> Result<AccountName, AccountNameError> {
    named("expense", category)
}

pub fn payout(method: &str) -> Result<AccountName, AccountNameError> {
    named("payout", method)
}

pub fn exchange(currency: &str) -> Result<AccountName, AccountNameError> {
    named("exchange", &currency.to_lowercase())
}

/// Whether the service manages the account `name`.
pub fn is_managed(name: &AccountName) -> bool {
    let first = name.as_str().split(':').next().unwrap_or_default();
    MANAGED_PREFIXES.contains(&first)
}

fn named(prefix: &str, segment: &str) -> Result<AccountName, AccountNameError> {
    AccountName::parse(&format!("{prefix}:{segment}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(name: Result<AccountName, AccountNameError>) -> String {
        name.expect("valid name").as_str().to_owned()
    }

    #[test]
    fn names_are_the_documented_ones() {
        assert_eq!(text(general_pool("EUR", "EUR")), "pool:general");
        assert_eq!(text(general_pool("EUR", "USD")), "pool:general:usd");
        assert_eq!(text(grant_pool("FH-2026-017")), "pool:grant:FH-2026-017");
        assert_eq!(text(funder("0190a1b2")), "funder:0190a1b2");
        assert_eq!(text(contributor("0190a1b2")), "contributor:0190a1b2");
        assert_eq!(text(expense("parts")), "expense:parts");
        assert_eq!(text(payout("bank-transfer")), "payout:bank-transfer");
        assert_eq!(text(exchange("USD")), "exchange:usd");
    }

    #[test]
    fn a_segment_that_is_no_name_is_refused() {
        assert!(grant_pool("with space").is_err());
        assert!(expense("").is_err());
    }

    #[test]
    fn managed_names_are_told_from_the_others() {
        for name in [
            "pool:general",
            "contributor:x",
            "exchange:usd",
            "payout:cash",
        ] {
            assert!(
                is_managed(&AccountName::parse(name).expect("name")),
                "{name}"
            );
        }
        for name in ["reserve", "bank", "pools:x", "general:pool"] {
            assert!(
                !is_managed(&AccountName::parse(name).expect("name")),
                "{name}"
            );
        }
    }
}
