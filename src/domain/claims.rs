//! Expense claims: money a member spent for the project out of their own
//! pocket, claimed back. A claim waits for a decision by an owner or
//! treasurer other than its claimant (four eyes, the rule pending payouts
//! follow), taken once; and a claimant's claims add up per currency and
//! status for their value account.

use std::collections::BTreeMap;

use super::funds::{DecisionRefusal, PendingStatus, check_decision};

/// Where a claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClaimStatus {
    /// Submitted, waiting for an owner or treasurer other than its
    /// claimant; nothing posted.
    Pending,
    /// Approved: its expense is posted, from the pool to what the project
    /// owes the claimant.
    Approved,
    /// Rejected, for a reason: nothing was posted.
    Rejected,
}

impl ClaimStatus {
    pub const ALL: [ClaimStatus; 3] = [
        ClaimStatus::Pending,
        ClaimStatus::Approved,
        ClaimStatus::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Pending => "pending",
            ClaimStatus::Approved => "approved",
            ClaimStatus::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// The claim seen as pending money: an approved claim is posted.
    fn as_pending(self) -> PendingStatus {
        match self {
            ClaimStatus::Pending => PendingStatus::Pending,
            ClaimStatus::Approved => PendingStatus::Posted,
            ClaimStatus::Rejected => PendingStatus::Rejected,
        }
    }
}

/// Checks that `decider` may approve or reject a claim of `claimant` that
/// stands at `status`: only a pending one, never by its claimant. The rule
/// is the one every pending money follows ([`check_decision`]).
pub fn check_claim_decision(
    status: ClaimStatus,
    claimant: &str,
    decider: &str,
) -> Result<(), DecisionRefusal> {
    check_decision(status.as_pending(), claimant, decider)
}

/// How many claims stand at one status, and their sum in minor units (128
/// bits: the sum of many 64-bit amounts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClaimSum {
    pub count: u64,
    pub amount: i128,
}

/// A claimant's claims in one currency, by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClaimSums {
    pub pending: ClaimSum,
    pub approved: ClaimSum,
    pub rejected: ClaimSum,
}

/// One claim as its sums see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimEntry<'a> {
    pub status: ClaimStatus,
    pub currency: &'a str,
    /// Minor units, positive.
    pub amount: i64,
}

/// Sums claims per currency (in code order) and status. Currencies are
/// never added together.
pub fn summarize_claims<'a>(
    claims: impl IntoIterator<Item = ClaimEntry<'a>>,
) -> BTreeMap<String, ClaimSums> {
    let mut sums: BTreeMap<String, ClaimSums> = BTreeMap::new();
    for claim in claims {
        let of_currency = sums.entry(claim.currency.to_owned()).or_default();
        let sum = match claim.status {
            ClaimStatus::Pending => &mut of_currency.pending,
            ClaimStatus::Approved => &mut of_currency.approved,
            ClaimStatus::Rejected => &mut of_currency.rejected,
        };
        sum.count = sum.count.saturating_add(1);
        sum.amount = sum.amount.saturating_add(i128::from(claim.amount));
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_reads_back_and_nothing_else_does() {
        for status in ClaimStatus::ALL {
            assert_eq!(ClaimStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(ClaimStatus::parse("posted"), None);
        assert_eq!(ClaimStatus::parse("Pending"), None);
    }

    #[test]
    fn only_another_person_decides_and_only_once() {
        assert_eq!(
            check_claim_decision(ClaimStatus::Pending, "claimant", "treasurer"),
            Ok(())
        );
        assert_eq!(
            check_claim_decision(ClaimStatus::Pending, "claimant", "claimant"),
            Err(DecisionRefusal::OwnRecord),
            "nobody approves their own claim"
        );
        for decided in [ClaimStatus::Approved, ClaimStatus::Rejected] {
            assert_eq!(
                check_claim_decision(decided, "claimant", "treasurer"),
                Err(DecisionRefusal::Decided),
                "a decision is final"
            );
            assert_eq!(
                check_claim_decision(decided, "claimant", "claimant"),
                Err(DecisionRefusal::Decided),
                "a decided claim is decided, whoever asks"
            );
        }
    }

    #[test]
    fn claims_add_up_per_currency_and_status() {
        let entry = |status, currency, amount| ClaimEntry {
            status,
            currency,
            amount,
        };
        let sums = summarize_claims([
            entry(ClaimStatus::Pending, "EUR", 1_000),
            entry(ClaimStatus::Approved, "EUR", 2_500),
            entry(ClaimStatus::Approved, "EUR", 500),
            entry(ClaimStatus::Rejected, "USD", 700),
        ]);
        let currencies: Vec<&String> = sums.keys().collect();
        assert_eq!(
            currencies,
            ["EUR", "USD"],
            "one line per currency, in order"
        );
        let eur = sums["EUR"];
        assert_eq!(
            eur.pending,
            ClaimSum {
                count: 1,
                amount: 1_000
            }
        );
        assert_eq!(
            eur.approved,
            ClaimSum {
                count: 2,
                amount: 3_000
            }
        );
        assert_eq!(eur.rejected, ClaimSum::default());
        assert_eq!(
            sums["USD"].rejected,
            ClaimSum {
                count: 1,
                amount: 700
            }
        );
        assert!(summarize_claims([]).is_empty());
    }

    #[test]
    fn sums_of_the_largest_amounts_do_not_overflow() {
        let sums = summarize_claims(std::iter::repeat_n(
            ClaimEntry {
                status: ClaimStatus::Approved,
                currency: "EUR",
                amount: i64::MAX,
            },
            1_000,
        ));
        assert_eq!(sums["EUR"].approved.amount, i128::from(i64::MAX) * 1_000);
        assert_eq!(sums["EUR"].approved.count, 1_000);
    }
}
