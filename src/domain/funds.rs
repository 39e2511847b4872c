//! A grant's figures (received, spent, distributed) as a fold over the
//! movements of its pool, so the grant endpoint and the grant report add up
//! the same way from the ledger, and nothing is stored twice.

use super::TransactionKind;

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
}

/// Folds a pool's movements into a grant's figures. Money in by a grant or
/// donation is received (on the grant's own pool), money out by an expense
/// is spent and by a distribution distributed; a reversal counts against
/// the kind it undoes. Transfers, exchanges and payouts move the remaining
/// balance but are none of the three.
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
                    _ => {}
                }
                figures
            });
    if let Pool::Shared { amount, reversed } = pool {
        figures.received = if reversed { 0 } else { i128::from(amount) };
    }
    figures
}

#[cfg(test)]
mod tests {
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
        ];
        assert_eq!(
            grant_figures(movements, Pool::Own),
            GrantFigures {
                received: 1_000_000,
                spent: 120_000,
                distributed: 450_000,
            }
        );
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
}
