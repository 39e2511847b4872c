//! A grant's figures (received, spent, distributed) as a fold over the
//! movements of its pool, so the grant endpoint and the grant report add up
//! the same way from the ledger, and nothing is stored twice.

use super::{NewPosting, TransactionKind, managed};

/// One posting on a pool, as the figures see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolMovement {
    /// The kind of the transaction; for a reversal, the kind of the
    /// transaction it undoes (a reversed expense is spending undone).
    pub kind: TransactionKind,
    /// Minor units, positive.
    pub amount: i64,
    /// Whether the money came into the pool (else it left).
    pub into: bool,
}

/// Whose pool the movements are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// A restricted grant's own pool: what came in is what it received.
    Own,
    /// The general pool, shared by many grants and donations: the grant
    /// received its own amount, unless its transaction was reversed.
    Shared { amount: i64, reversed: bool },
}

/// What a grant received, what of it was spent and distributed, in minor
/// units (128 bits: sums of many 64-bit postings).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GrantFigures {
    pub received: i128,
    pub spent: i128,
    pub distributed: i128,
    /// Let out of a restricted pool into the general pool by releases.
    pub released: i128,
    /// Exchanged out of the pool into another currency, net of what came
    /// in by exchange (and of reversals).
    pub exchanged: i128,
}

/// Folds a pool's movements into a grant's figures. Money in by a grant or
/// donation is received (on the grant's own pool), money out by an expense
/// is spent, by a distribution distributed, by a release released and by
/// an exchange exchanged; a reversal counts against the kind it undoes.
/// Transfers and payouts move the remaining balance but are none of these.
pub fn grant_figures(
    movements: impl IntoIterator<Item = PoolMovement>,
    pool: Pool,
) -> GrantFigures {
    let own = pool == Pool::Own;
    let mut figures =
        movements
            .into_iter()
            .fold(GrantFigures::default(), |mut figures, movement| {
                let amount = i128::from(movement.amount);
                let signed = if movement.into { amount } else { -amount };
                match movement.kind {
                    TransactionKind::Grant | TransactionKind::Donation if own => {
                        figures.received += signed;
                    }
                    TransactionKind::Expense => figures.spent -= signed,
                    TransactionKind::Distribution => figures.distributed -= signed,
                    TransactionKind::Release => figures.released -= signed,
                    TransactionKind::Exchange => figures.exchanged -= signed,
                    _ => {}
                }
                figures
            });
    if let Pool::Shared { amount, reversed } = pool {
        figures.received = if reversed { 0 } else { i128::from(amount) };
    }
    figures
}

/// The first posting of a generic transaction (`transfer`, `adjustment`)
/// that takes money out of a restricted grant's pool, if any: such money
/// leaves only by an operation that knows the restriction (an eligible
/// expense, a distribution of a distributable grant, a release, a reversal).
pub fn restricted_outflow(postings: &[NewPosting]) -> Option<(usize, &NewPosting)> {
    postings
        .iter()
        .enumerate()
        .find(|(_, posting)| managed::is_restricted_pool(posting.from.as_str()))
}

/// Why a distribution may not draw from an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceRefusal {
    /// Only pools are distributed: not expense, payout, exchange, funder or
    /// contributor accounts, which are not money the project holds.
    NotAPool,
    /// A restricted grant's pool whose grant does not say its money may pay
    /// contributors.
    Restricted,
}

/// Whether a distribution may draw from the account `pool`; `distributable`
/// is the flag of the grant whose pool it is (`None` if no grant's).
pub fn distribution_source(pool: &str, distributable: Option<bool>) -> Result<(), SourceRefusal> {
    if !managed::is_pool(pool) {
        return Err(SourceRefusal::NotAPool);
    }
    if managed::is_restricted_pool(pool) && distributable != Some(true) {
        return Err(SourceRefusal::Restricted);
    }
    Ok(())
}

/// A grant's `distributable` flag: as asked, else false for a restricted
/// grant (its funder's consent is needed to pay contributors) and true for
/// unrestricted money. Unrestricted money lies in the shared general pool,
/// so it cannot be kept from distributions: asking `false` is refused.
pub fn distributable(restricted: bool, asked: Option<bool>) -> Result<bool, &'static str> {
    match (restricted, asked) {
        (false, Some(false)) => Err(
            "unrestricted money lies in the general pool, which is distributed: only a restricted grant may be kept from distributions",
        ),
        (_, Some(flag)) => Ok(flag),
        (restricted, None) => Ok(!restricted),
    }
}

/// Four eyes: whether money a person records waits for another owner or
/// treasurer before it is posted. A payout to the person who records it
/// always does; with a project's `four_eyes_above` (minor units of its
/// currency) set, anything above it does, and anything in another currency
/// too (its amount cannot be compared without a rate, and a threshold is
/// never to be got round by paying in another currency).
pub fn needs_second_person(
    recorder: &str,
    payee: Option<&str>,
    amount: i64,
    in_project_currency: bool,
    four_eyes_above: Option<i64>,
) -> bool {
    payee == Some(recorder)
        || four_eyes_above.is_some_and(|above| !in_project_currency || amount > above)
}

/// Why a pending decision is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionRefusal {
    /// It is already posted or rejected: a decision is final.
    Decided,
    /// The person who recorded it decides it.
    OwnRecord,
}

/// Where money that waits for a second person stands (four eyes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingStatus {
    /// Recorded, waiting for another owner or treasurer; nothing posted.
    Pending,
    /// Approved (or never needing approval): its transaction is posted.
    Posted,
    /// Rejected, for a reason: nothing was posted.
    Rejected,
}

impl PendingStatus {
    /// Where money a person records stands: pending when it waits for a
    /// second person, else posted.
    pub fn of(pending: bool) -> Self {
        if pending {
            PendingStatus::Pending
        } else {
            PendingStatus::Posted
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PendingStatus::Pending => "pending",
            PendingStatus::Posted => "posted",
            PendingStatus::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(PendingStatus::Pending),
            "posted" => Some(PendingStatus::Posted),
            "rejected" => Some(PendingStatus::Rejected),
            _ => None,
        }
    }
}

/// Checks that `decider` may approve or reject money recorded by
/// `recorder` that stands at `status`: only a pending one, never by its
/// recorder.
pub fn check_decision(
    status: PendingStatus,
    recorder: &str,
    decider: &str,
) -> Result<(), DecisionRefusal> {
    if status != PendingStatus::Pending {
        return Err(DecisionRefusal::Decided);
    }
    if recorder == decider {
        return Err(DecisionRefusal::OwnRecord);
    }
    Ok(())
}

/// What of a pool's `balance` is free: what approved distribution runs
/// do not reserve (`reserved`). Negative only when the reservations exceed
/// the balance, which the ledger's rules never let happen.
pub fn available(balance: i64, reserved: i64) -> i64 {
    balance.saturating_sub(reserved)
}

/// What runs reserve in a pool: the sum of their amounts (each positive),
/// saturating rather than wrapping (a reservation that large refuses
/// every outflow, which is the safe side).
pub fn reserved(amounts: impl IntoIterator<Item = i64>) -> i64 {
    amounts
        .into_iter()
        .fold(0_i64, |total, amount| total.saturating_add(amount.max(0)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_payout_to_oneself_or_above_the_threshold_waits() {
        use super::needs_second_person as needs;
        assert!(needs("t", Some("t"), 1, true, None));
        assert!(!needs("t", Some("c"), 1, true, None));
        assert!(!needs("t", None, 500, true, Some(500)));
        assert!(needs("t", None, 501, true, Some(500)));
        // In another currency the amount cannot be compared: with a
        // threshold set, it waits (never a way around the threshold).
        assert!(needs("t", None, 1, false, Some(500)));
        assert!(!needs("t", None, 501, false, None));
    }

    #[test]
    fn only_another_person_decides_only_a_pending_record() {
        use super::{DecisionRefusal, check_decision};
        assert_eq!(check_decision(PendingStatus::Pending, "a", "b"), Ok(()));
        assert_eq!(
            check_decision(PendingStatus::Pending, "a", "a"),
            Err(DecisionRefusal::OwnRecord)
        );
        assert_eq!(
            check_decision(PendingStatus::Posted, "a", "b"),
            Err(DecisionRefusal::Decided)
        );
    }

    use super::*;

    fn moved(kind: TransactionKind, amount: i64, into: bool) -> PoolMovement {
        PoolMovement { kind, amount, into }
    }

    #[test]
    fn the_story_grant_adds_up() {
        use TransactionKind::*;
        let movements = [
            moved(Grant, 1_000_000, true),
            moved(Expense, 120_000, false),
            moved(Distribution, 450_000, false),
            moved(Transfer, 5_000, false),
            moved(Release, 30_000, false),
            moved(Exchange, 200_000, false),
            moved(Exchange, 10_000, true),
        ];
        assert_eq!(
            grant_figures(movements, Pool::Own),
            GrantFigures {
                received: 1_000_000,
                spent: 120_000,
                distributed: 450_000,
                released: 30_000,
                exchanged: 190_000,
            }
        );
    }

    fn posting(from: &str, to: &str) -> NewPosting {
        NewPosting {
            from: crate::domain::AccountName::parse(from).expect("name"),
            to: crate::domain::AccountName::parse(to).expect("name"),
            amount: crate::domain::Amount::from_minor(100).expect("amount"),
            unit: "EUR".to_owned(),
        }
    }

    #[test]
    fn a_generic_transaction_never_takes_restricted_money_out() {
        let into = [posting("funder:a", "pool:grant:FH-1")];
        assert!(restricted_outflow(&into).is_none(), "money may come in");
        let general = [posting("pool:general", "reserve")];
        assert!(restricted_outflow(&general).is_none());
        let out = [
            posting("pool:general", "reserve"),
            posting("pool:grant:FH-1", "pool:general"),
        ];
        assert_eq!(restricted_outflow(&out).map(|(index, _)| index), Some(1));
    }

    #[test]
    fn distributions_draw_only_from_pools_and_distributable_grants() {
        assert_eq!(distribution_source("pool:general", None), Ok(()));
        assert_eq!(distribution_source("pool:sensors", None), Ok(()));
        for name in [
            "expense:parts",
            "payout:cash",
            "exchange:usd",
            "funder:a",
            "reserve",
        ] {
            assert_eq!(
                distribution_source(name, None),
                Err(SourceRefusal::NotAPool),
                "{name}"
            );
        }
        assert_eq!(distribution_source("pool:grant:FH-1", Some(true)), Ok(()));
        assert_eq!(
            distribution_source("pool:grant:FH-1", Some(false)),
            Err(SourceRefusal::Restricted)
        );
        assert_eq!(
            distribution_source("pool:grant:FH-1", None),
            Err(SourceRefusal::Restricted),
            "a restricted pool no grant owns is not distributable"
        );
    }

    #[test]
    fn a_grant_is_distributable_by_default_only_when_unrestricted() {
        assert_eq!(distributable(true, None), Ok(false));
        assert_eq!(distributable(true, Some(true)), Ok(true));
        assert_eq!(distributable(false, None), Ok(true));
        assert_eq!(distributable(false, Some(true)), Ok(true));
        assert!(distributable(false, Some(false)).is_err());
    }

    #[test]
    fn a_reversal_undoes_the_kind_it_reverses() {
        use TransactionKind::*;
        let movements = [
            moved(Grant, 1_000, true),
            moved(Expense, 300, false),
            // The expense reversed: its money comes back.
            moved(Expense, 300, true),
            moved(Distribution, 200, false),
        ];
        let figures = grant_figures(movements, Pool::Own);
        assert_eq!(figures.spent, 0);
        assert_eq!(figures.distributed, 200);
    }

    #[test]
    fn a_shared_pool_credits_the_grant_its_own_amount() {
        use TransactionKind::*;
        let movements = [
            moved(Donation, 5_000, true),
            moved(Grant, 1_000, true),
            moved(Expense, 700, false),
        ];
        let shared = Pool::Shared {
            amount: 1_000,
            reversed: false,
        };
        assert_eq!(grant_figures(movements, shared).received, 1_000);
        let reversed = Pool::Shared {
            amount: 1_000,
            reversed: true,
        };
        assert_eq!(grant_figures(movements, reversed).received, 0);
        assert_eq!(grant_figures(movements, reversed).spent, 700);
    }

    #[test]
    fn many_large_movements_do_not_overflow() {
        let movements =
            std::iter::repeat_n(moved(TransactionKind::Expense, i64::MAX, false), 1_000);
        let figures = grant_figures(movements, Pool::Own);
        assert_eq!(figures.spent, i128::from(i64::MAX) * 1_000);
    }

    #[test]
    fn available_is_the_balance_less_what_approved_runs_reserve() {
        assert_eq!(reserved([]), 0);
        assert_eq!(reserved([300, 200]), 500);
        assert_eq!(available(1_000, reserved([300, 200])), 500);
        assert_eq!(available(1_000, 0), 1_000);
        assert_eq!(available(500, 500), 0);
        assert_eq!(available(0, 0), 0);
        // Never wraps: huge reservations saturate and leave nothing free.
        assert_eq!(reserved([i64::MAX, i64::MAX]), i64::MAX);
        assert_eq!(available(i64::MIN, i64::MAX), i64::MIN);
        assert!(available(1_000, i64::MAX) < 0);
    }
}
