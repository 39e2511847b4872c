//! distributions/{distribution_id}.csv: one line per account transfer and
//! per recipient of a run, with its basis, share, amount, rounding
//! adjustment and explanation, then the residue on its own line; the
//! amounts add up to the run's amount. A run's plan is bounded, so its
//! lines are built whole.

use super::{Column, Line, columns};

/// The header row of a distribution statement, in order.
pub const DISTRIBUTION_COLUMNS: [Column; 14] = columns(
    "distribution_id,status,period_from,period_to,step,recipient_type,recipient,basis,share_percent,amount,rounding_adjustment,capped_by,currency,explanation",
);

/// What every line of a run's statement repeats; amounts are the run's
/// decimal strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunFacts<'a> {
    pub id: &'a str,
    pub status: &'a str,
    pub period_from: &'a str,
    pub period_to: &'a str,
    pub currency: &'a str,
}

/// A recipient's line of a step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Share<'a> {
    pub step: usize,
    pub agent: &'a str,
    pub basis: &'a str,
    pub share_percent: &'a str,
    pub amount: &'a str,
    pub rounding_adjustment: &'a str,
    pub capped_by: &'a str,
    pub explanation: &'a str,
}

impl RunFacts<'_> {
    /// A line of `step` (none for the residue) to a recipient of `kind`.
    fn line(&self, step: Option<usize>, kind: &str, share: &Share<'_>) -> Line {
        Line::new(&DISTRIBUTION_COLUMNS)
            .with("distribution_id", self.id)
            .with("status", self.status)
            .with("period_from", self.period_from)
            .with("period_to", self.period_to)
            .with("step", step.map(|s| s.to_string()).unwrap_or_default())
            .with("recipient_type", kind)
            .with("recipient", share.agent)
            .with("basis", share.basis)
            .with("share_percent", share.share_percent)
            .with("amount", share.amount)
            .with("rounding_adjustment", share.rounding_adjustment)
            .with("capped_by", share.capped_by)
            .with("currency", self.currency)
            .with("explanation", share.explanation)
    }

    /// A step's fixed share of the run to a named account.
    pub fn transfer(&self, step: usize, account: &str, amount: &str) -> Line {
        let share = Share {
            agent: account,
            amount,
            explanation: "a fixed share of the run to a named account",
            ..Share::default()
        };
        self.line(Some(step), "account", &share)
    }

    /// A recipient's line.
    pub fn recipient(&self, share: &Share<'_>) -> Line {
        self.line(Some(share.step), "agent", share)
    }

    /// What caps, minimums and rounding left, and where it went.
    pub fn residue(&self, residue: &str, destination: &str) -> Line {
        let why = format!("what caps, minimums and rounding left: to {destination}");
        let share = Share {
            agent: destination,
            amount: residue,
            explanation: &why,
            ..Share::default()
        };
        self.line(None, "residue", &share)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_repeats_the_run_and_the_residue_says_where_it_went() {
        let run = RunFacts {
            id: "run-1",
            status: "executed",
            period_from: "2026-01-01",
            period_to: "2026-03-31",
            currency: "EUR",
        };
        let transfer = run.transfer(0, "pool:reserve", "100.00");
        let transfer = transfer.cells();
        assert_eq!(
            &transfer[..7],
            &[
                "run-1",
                "executed",
                "2026-01-01",
                "2026-03-31",
                "0",
                "account",
                "pool:reserve"
            ]
        );
        assert_eq!(transfer[9], "100.00");
        let share = Share {
            step: 1,
            agent: "agent-a",
            basis: "300.00",
            share_percent: "60.0000",
            amount: "240.00",
            rounding_adjustment: "0.01",
            capped_by: "0.00",
            explanation: "60 % of step 1",
        };
        assert_eq!(
            &run.recipient(&share).cells()[4..],
            &[
                "1",
                "agent",
                "agent-a",
                "300.00",
                "60.0000",
                "240.00",
                "0.01",
                "0.00",
                "EUR",
                "60 % of step 1"
            ]
        );
        let residue = run.residue("0.02", "pool");
        let residue = residue.cells();
        assert_eq!(&residue[4..7], &["", "residue", "pool"]);
        assert_eq!(
            residue[13],
            "what caps, minimums and rounding left: to pool"
        );
    }
}
