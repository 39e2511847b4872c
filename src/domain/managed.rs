//! The accounts the service opens and names itself, named in this one place:
//! pools of money received, funders' and contributors' accounts, and the
//! sinks of money spent, paid out or exchanged.
//!
//! | account | holds |
//! |---|---|
//! | `pool:general` | unrestricted money in the project's currency |
//! | `pool:general:<currency>` | unrestricted money in another currency |
//! | `pool:grant:<reference>` | a restricted grant's money, in the grant's currency |
//! | `pool:grant:<reference>:<currency>` | the same grant's money, exchanged into another currency (still restricted) |
//! | `funder:<agent>` | what a funder has given in the project's currency (goes negative) |
//! | `funder:<agent>:<currency>` | what a funder has given in another currency |
//! | `contributor:<agent>` | what the project owes a contributor |
//! | `expense:<category>` | what was spent, by category, in the project's currency |
//! | `expense:<category>:<currency>` | what was spent in another currency |
//! | `payout:<method>` | what was paid out to contributors, by method, in the project's currency |
//! | `payout:<method>:<currency>` | what was paid out in another currency |
//! | `exchange:<currency>` | the two legs of a currency exchange |
//!
//! `<currency>` is the ISO 4217 code in lower case. A segment (a reference,
//! a category, a method, an agent's id) never holds a `:`, so the number of
//! segments tells a name in another currency from one in the base currency.
//! An account whose name carries a currency holds only that currency.

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

/// A restricted grant's own pool, named by its reference, for its money in
/// `currency`: the grant's own currency, or another it was exchanged into.
pub fn grant_pool(
    reference: &str,
    grant_currency: &str,
    currency: &str,
) -> Result<AccountName, AccountNameError> {
    in_currency(&format!("pool:grant:{reference}"), grant_currency, currency)
}

/// The pool `pool:grant:<reference>` of the grant whose money `name` holds,
/// in whatever currency: `name` itself, or without its currency segment.
pub fn grant_pool_base(name: &str) -> &str {
    if name.starts_with("pool:grant:") && name.split(':').count() == 4 {
        name.rsplit_once(':').map_or(name, |(base, _)| base)
    } else {
        name
    }
}

/// What a funder has given in `currency`.
pub fn funder(
    agent: &str,
    project_currency: &str,
    currency: &str,
) -> Result<AccountName, AccountNameError> {
    in_currency(&format!("funder:{agent}"), project_currency, currency)
}

pub fn contributor(agent: &str) -> Result<AccountName, AccountNameError> {
    named("contributor", agent)
}

/// What was spent on `category` in `currency`.
pub fn expense(
    category: &str,
    project_currency: &str,
    currency: &str,
) -> Result<AccountName, AccountNameError> {
    in_currency(&format!("expense:{category}"), project_currency, currency)
}

/// What was paid out by `method` in `currency`.
pub fn payout(
    method: &str,
    project_currency: &str,
    currency: &str,
) -> Result<AccountName, AccountNameError> {
    in_currency(&format!("payout:{method}"), project_currency, currency)
}

pub fn exchange(currency: &str) -> Result<AccountName, AccountNameError> {
    named("exchange", &currency.to_lowercase())
}

/// Whether the service manages the account `name`.
pub fn is_managed(name: &AccountName) -> bool {
    let first = name.as_str().split(':').next().unwrap_or_default();
    MANAGED_PREFIXES.contains(&first)
}

/// Whether `name` is a pool: the only kind of account a distribution draws
/// from (`pool:general`, `pool:grant:<reference>`, any `pool:...`).
pub fn is_pool(name: &str) -> bool {
    name.split(':').next() == Some("pool")
}

/// Whether `name` is a restricted grant's own pool, `pool:grant:<reference>`:
/// money leaves it only by an operation that knows the restriction.
pub fn is_restricted_pool(name: &str) -> bool {
    name.strip_prefix("pool:grant:")
        .is_some_and(|reference| !reference.is_empty())
}

/// The non-negative flag an account under a managed prefix must carry,
/// whoever opens it: pools and contributors' accounts never go below zero
/// (nothing pays out more than it holds, nobody is paid more than owed);
/// funders' and exchange accounts go negative by design, and the sinks of
/// expenses and payouts carry no floor. `None` for other names.
pub fn required_non_negative(name: &str) -> Option<bool> {
    match name.split(':').next()? {
        "pool" | "contributor" => Some(true),
        "funder" | "expense" | "payout" | "exchange" => Some(false),
        _ => None,
    }
}

/// The currency an account's name fixes, in a project kept in
/// `project_currency`: `pool:general` holds the project's currency,
/// a name ending in a currency segment (`pool:general:<code>`,
/// `exchange:<code>`, `funder:<agent>:<code>`, ...) holds `<code>`. `None`
/// when the name fixes none (the first movement does).
pub fn required_currency(name: &str, project_currency: &str) -> Option<String> {
    let mut segments = name.split(':');
    match (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) {
        (Some("pool"), Some("general"), None, _, _) => Some(project_currency.to_owned()),
        (Some("pool"), Some("general"), Some(code), None, _)
        | (Some("pool"), Some("grant"), Some(_), Some(code), None)
        | (Some("funder" | "expense" | "payout"), Some(_), Some(code), None, _)
        | (Some("exchange"), Some(code), None, _, _) => Some(code.to_uppercase()),
        _ => None,
    }
}

/// What an existing account must be for a managed operation to use it: its
/// flag must be the one the operation opens it with, and its currency the
/// one its name fixes (if any). Else the account is never adopted, and the
/// message says why.
pub fn adoptable(
    name: &str,
    project_currency: &str,
    (currency, non_negative): (&str, bool),
    wanted_non_negative: bool,
) -> Result<(), String> {
    if non_negative != wanted_non_negative {
        let wanted = if wanted_non_negative {
            "non-negative"
        } else {
            "allowed below zero"
        };
        return Err(format!(
            "the account `{name}` exists but is not {wanted}, as this operation needs: it was not opened by the service; it is not used"
        ));
    }
    match required_currency(name, project_currency) {
        Some(required) if required != currency => Err(format!(
            "the account `{name}` exists in {currency}, but its name holds {required}; it is not used"
        )),
        _ => Ok(()),
    }
}

fn named(prefix: &str, segment: &str) -> Result<AccountName, AccountNameError> {
    AccountName::parse(&format!("{prefix}:{segment}"))
}

/// `base` for money in `base_currency`, `base:<code>` for any other.
fn in_currency(
    base: &str,
    base_currency: &str,
    currency: &str,
) -> Result<AccountName, AccountNameError> {
    if base.matches(':').count() != 1 + usize::from(base.starts_with("pool:grant:")) {
        // A segment holding `:` would make the currency segment ambiguous.
        return Err(AccountNameError::Segment(base.to_owned()));
    }
    if base_currency == currency {
        AccountName::parse(base)
    } else {
        named(base, &currency.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(name: Result<AccountName, AccountNameError>) -> String {
        name.expect("valid name").as_str().to_owned()
    }

    #[test]
    fn names_are_the_documented_ones() {
        let cases = [
            (general_pool("EUR", "EUR"), "pool:general"),
            (general_pool("EUR", "USD"), "pool:general:usd"),
            (
                grant_pool("FH-2026-017", "USD", "USD"),
                "pool:grant:FH-2026-017",
            ),
            (
                grant_pool("FH-2026-017", "USD", "EUR"),
                "pool:grant:FH-2026-017:eur",
            ),
            (funder("0190a1b2", "EUR", "EUR"), "funder:0190a1b2"),
            (funder("0190a1b2", "EUR", "USD"), "funder:0190a1b2:usd"),
            (contributor("0190a1b2"), "contributor:0190a1b2"),
            (expense("parts", "EUR", "EUR"), "expense:parts"),
            (expense("parts", "EUR", "JPY"), "expense:parts:jpy"),
            (
                payout("bank-transfer", "EUR", "EUR"),
                "payout:bank-transfer",
            ),
            (
                payout("bank-transfer", "EUR", "USD"),
                "payout:bank-transfer:usd",
            ),
            (exchange("USD"), "exchange:usd"),
        ];
        for (name, expected) in cases {
            assert_eq!(text(name), expected);
        }
    }

    #[test]
    fn a_segment_that_is_no_name_is_refused() {
        assert!(grant_pool("with space", "EUR", "EUR").is_err());
        assert!(expense("", "EUR", "EUR").is_err());
        // A segment holding `:` would be read as a currency.
        assert!(expense("parts:usd", "EUR", "EUR").is_err());
        assert!(grant_pool("a:b", "EUR", "USD").is_err());
    }

    #[test]
    fn a_grant_pool_in_another_currency_leads_back_to_the_grant() {
        assert_eq!(grant_pool_base("pool:grant:FH-1:eur"), "pool:grant:FH-1");
        assert_eq!(grant_pool_base("pool:grant:FH-1"), "pool:grant:FH-1");
        assert_eq!(grant_pool_base("pool:general:usd"), "pool:general:usd");
        assert!(is_restricted_pool("pool:grant:FH-1:eur"));
    }

    #[test]
    fn pools_and_restricted_pools_are_told_apart() {
        assert!(is_pool("pool:general"));
        assert!(is_pool("pool:grant:FH-1"));
        assert!(is_pool("pool:sensors"));
        for name in [
            "expense:parts",
            "payout:cash",
            "exchange:usd",
            "pools:x",
            "reserve",
        ] {
            assert!(!is_pool(name), "{name}");
        }
        assert!(is_restricted_pool("pool:grant:FH-1"));
        for name in [
            "pool:general",
            "pool:grant",
            "pool:grant:",
            "pool:grants:x",
            "grant:x",
        ] {
            assert!(!is_restricted_pool(name), "{name}");
        }
    }

    #[test]
    fn managed_accounts_carry_the_flags_their_operations_need() {
        let flags = [
            ("pool:general", Some(true)),
            ("pool:grant:FH-1", Some(true)),
            ("contributor:a", Some(true)),
            ("funder:a", Some(false)),
            ("exchange:usd", Some(false)),
            ("expense:parts", Some(false)),
            ("payout:cash", Some(false)),
            ("reserve", None),
        ];
        for (name, non_negative) in flags {
            assert_eq!(required_non_negative(name), non_negative, "{name}");
        }
        // (name, the project's currency, the currency the name fixes)
        let currencies = [
            ("pool:general", "EUR", Some("EUR")),
            ("pool:general:usd", "EUR", Some("USD")),
            ("exchange:jpy", "EUR", Some("JPY")),
            ("pool:grant:FH-1", "EUR", None),
            ("pool:grant:FH-1:eur", "USD", Some("EUR")),
            ("funder:a", "EUR", None),
            ("funder:a:usd", "EUR", Some("USD")),
            ("expense:parts:usd", "EUR", Some("USD")),
            ("expense:parts", "EUR", None),
        ];
        for (name, project_currency, currency) in currencies {
            assert_eq!(
                required_currency(name, project_currency).as_deref(),
                currency,
                "{name}"
            );
        }
    }

    #[test]
    fn an_account_of_other_flags_or_currency_is_never_adopted() {
        assert!(adoptable("pool:general", "EUR", ("EUR", true), true).is_ok());
        assert!(adoptable("pool:general", "EUR", ("EUR", false), true).is_err());
        assert!(adoptable("pool:general", "EUR", ("USD", true), true).is_err());
        assert!(adoptable("pool:general:usd", "EUR", ("USD", true), true).is_ok());
        assert!(adoptable("exchange:usd", "EUR", ("USD", true), false).is_err());
        // A funder's currency is fixed by its first movement, not its name.
        assert!(adoptable("funder:a", "EUR", ("USD", false), false).is_ok());
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
