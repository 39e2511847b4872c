//! A distribution run's rules: the states it moves through, who may approve
//! it, and the postings its plan makes when it is executed.
//!
//! ```text
//! draft --(enough approvals)--> approved --(execution)--> executed
//!   \                              |
//!    +------> cancelled <----------+
//! ```

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::allocation::{Plan, Residue, decimal_ratio};
use super::money::{Overflow, format_minor_wide};
use super::{AccountName, Unit};

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    Draft,
    Approved,
    Executed,
    Cancelled,
}

/// A status text that is none of the four (a row the service did not write).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown distribution status `{0}`")]
pub struct UnknownStatus(pub String);

/// A transition the run's status does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this distribution run is {}, so it cannot {action}", .status.as_str())]
pub struct StateError {
    pub status: RunStatus,
    /// What was asked, as words after "cannot".
    pub action: &'static str,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Draft => "draft",
            RunStatus::Approved => "approved",
            RunStatus::Executed => "executed",
            RunStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Result<Self, UnknownStatus> {
        Ok(match text {
            "draft" => RunStatus::Draft,
            "approved" => RunStatus::Approved,
            "executed" => RunStatus::Executed,
            "cancelled" => RunStatus::Cancelled,
            other => return Err(UnknownStatus(other.to_owned())),
        })
    }

    /// The status after one more approval, `approvals` counting it, of the
    /// `required`: a draft stays a draft until enough approvals are in.
    pub fn approve(self, approvals: usize, required: i32) -> Result<RunStatus, StateError> {
        if self != RunStatus::Draft {
            return Err(self.refuses("be approved"));
        }
        let enough = i32::try_from(approvals).unwrap_or(i32::MAX) >= required;
        Ok(if enough {
            RunStatus::Approved
        } else {
            RunStatus::Draft
        })
    }

    /// An approved run is executed; nothing else is.
    pub fn execute(self) -> Result<RunStatus, StateError> {
        match self {
            RunStatus::Approved => Ok(RunStatus::Executed),
            other => Err(other.refuses("be executed")),
        }
    }

    /// A draft or approved run is cancelled; an executed one is corrected by
    /// reversing its transaction.
    pub fn cancel(self) -> Result<RunStatus, StateError> {
        match self {
            RunStatus::Draft | RunStatus::Approved => Ok(RunStatus::Cancelled),
            other => Err(other.refuses("be cancelled; reverse its transaction instead")),
        }
    }

    fn refuses(self, action: &'static str) -> StateError {
        StateError {
            status: self,
            action,
        }
    }
}

/// Why an approver may not approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// Four eyes: the author of a run never approves it.
    #[error("the author of a run cannot approve it: another owner or treasurer does")]
    SelfApproval,
    #[error("you have already approved this run")]
    AlreadyApproved,
}

/// Checks that `approver` may approve a run by `author` that `approvers`
/// have approved so far. Four eyes: the author never approves their own
/// run, so the approvals required are all by people other than the author.
pub fn check_approver(
    author: &str,
    approver: &str,
    approvers: &[&str],
) -> Result<(), ApprovalError> {
    if author == approver {
        return Err(ApprovalError::SelfApproval);
    }
    if approvers.contains(&approver) {
        return Err(ApprovalError::AlreadyApproved);
    }
    Ok(())
}

/// Why a plan makes no transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayeesError {
    #[error("it pays nobody")]
    Empty,
    #[error(transparent)]
    Overflow(#[from] Overflow),
    #[error("a stored account name is invalid: {0}")]
    AccountName(String),
}

/// One account a run pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payee {
    pub account: AccountName,
    /// Minor units, positive.
    pub amount: i64,
    /// Whether contributors' shares are paid to it (the account the
    /// service opens for a contributor, if not yet open).
    pub contributor: bool,
}

/// What executing `plan` pays, account by account, in account-name order:
/// each step's account payments, each contributor's share to the account
/// `contributor_account` names, and the residue when the rules send it to
/// an account (a residue kept in the pool moves nothing). Amounts paid to
/// one account by several steps are added; nothing of zero is listed.
pub fn payees(
    plan: &Plan,
    residue: &Residue,
    contributor_account: impl Fn(&str) -> Result<AccountName, PayeesError>,
) -> Result<Vec<Payee>, PayeesError> {
    let mut payees: BTreeMap<AccountName, (i64, bool)> = BTreeMap::new();
    let mut credit = |account: AccountName, amount: i64, contributor: bool| {
        let (total, is_contributor) = payees.entry(account).or_insert((0, false));
        *total = total
            .checked_add(amount)
            .ok_or(Overflow("what a run pays one account"))?;
        *is_contributor |= contributor;
        Ok::<(), Overflow>(())
    };
    let named = |account: &str| {
        AccountName::parse(account).map_err(|e| PayeesError::AccountName(e.to_string()))
    };
    for step in &plan.steps {
        if let Some(account) = &step.account {
            credit(named(account)?, step.amount, false)?;
        }
        for line in step.lines.iter().filter(|line| line.amount > 0) {
            credit(contributor_account(&line.agent)?, line.amount, true)?;
        }
    }
    if let Residue::Account { account } = residue {
        credit(named(account)?, plan.residue, false)?;
    }
    let payees: Vec<Payee> = payees
        .into_iter()
        .filter(|(_, (amount, _))| *amount > 0)
        .map(|(account, (amount, contributor))| Payee {
            account,
            amount,
            contributor,
        })
        .collect();
    if payees.is_empty() {
        return Err(PayeesError::Empty);
    }
    Ok(payees)
}

/// An amount a step pays to a named account, as money text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainedTransfer {
    pub step: usize,
    pub account: String,
    pub amount: String,
}

/// One recipient line with the words that say why it is what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainedLine {
    pub step: usize,
    pub agent: String,
    /// The contributor's approved value in the period, all kinds.
    pub basis: String,
    /// The line's share of its step, in percent, to four decimals.
    pub share_percent: String,
    pub amount: String,
    pub rounding_adjustment: String,
    pub capped_by: String,
    pub dropped: bool,
    pub explanation: String,
}

/// A plan in words: what each step pays to accounts, and each line with
/// its basis (per agent, per kind, from `bases`), its share and why.
pub fn explain(
    plan: &Plan,
    bases: &BTreeMap<String, BTreeMap<String, i64>>,
    unit: &Unit,
    period: (NaiveDate, NaiveDate),
) -> Result<(Vec<ExplainedTransfer>, Vec<ExplainedLine>), Overflow> {
    let money = |minor: i64| unit.format_minor(minor);
    let overflow = || Overflow("a line's share as a decimal");
    let period = format!("{}..{}", period.0, period.1);
    let no_kinds = BTreeMap::new();
    let mut transfers = Vec::new();
    let mut lines = Vec::new();
    for step in &plan.steps {
        if let Some(account) = &step.account {
            transfers.push(ExplainedTransfer {
                step: step.index,
                account: account.clone(),
                amount: money(step.amount),
            });
        }
        let total_basis = step
            .lines
            .iter()
            .try_fold(0_i128, |total, line| total.checked_add(line.weight))
            .ok_or(Overflow("the sum of a step's weights"))?;
        for line in &step.lines {
            let kinds = bases.get(&line.agent).unwrap_or(&no_kinds);
            // i128: a sum of a few i64 values cannot overflow it.
            let basis_minor: i128 = kinds.values().map(|v| i128::from(*v)).sum();
            let percent = if line.share_denominator > 0 {
                let hundredfold = line.weight.checked_mul(100).ok_or_else(overflow)?;
                decimal_ratio(hundredfold, 0, total_basis.max(1), 4).ok_or_else(overflow)?
            } else {
                Decimal::ZERO
            };
            let by_kind = kinds
                .iter()
                .map(|(kind, value)| format!("{kind} {}", money(*value)))
                .collect::<Vec<_>>()
                .join(", ");
            let exact = decimal_ratio(
                line.share_numerator,
                unit.scale(),
                line.share_denominator.max(1),
                4,
            )
            .ok_or_else(overflow)?;
            let mut explanation = format!(
                "{} approved value ({by_kind}) in {period}: {} % of the step's {} = {exact} exactly",
                format_minor_wide(basis_minor, unit.scale()),
                percent.round_dp(2),
                money(step.amount),
            );
            if line.rounding_adjustment > 0 {
                explanation.push_str(&format!(
                    ", +{} by largest remainder",
                    money(line.rounding_adjustment)
                ));
            }
            if line.capped_by > 0 {
                explanation.push_str(&format!(", capped: {} to residue", money(line.capped_by)));
            }
            if line.dropped {
                explanation.push_str(", below the minimum payout: to residue");
            }
            explanation.push_str(&format!("; paid {}", money(line.amount)));
            lines.push(ExplainedLine {
                step: step.index,
                agent: line.agent.clone(),
                basis: format_minor_wide(basis_minor, unit.scale()),
                share_percent: percent.to_string(),
                amount: money(line.amount),
                rounding_adjustment: money(line.rounding_adjustment),
                capped_by: money(line.capped_by),
                dropped: line.dropped,
                explanation,
            });
        }
    }
    Ok((transfers, lines))
}

/// Where a run's residue goes, in words: `pool`, `next_run` or `account:<name>`.
pub fn residue_destination(residue: &Residue) -> String {
    match residue {
        Residue::Pool => "pool".to_owned(),
        Residue::NextRun => "next_run".to_owned(),
        Residue::Account { account } => format!("account:{account}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::allocation::{Line, StepResult};

    #[test]
    fn a_run_moves_only_forward() {
        use RunStatus::*;
        assert_eq!(Draft.approve(1, 2), Ok(Draft), "one of two approvals");
        assert_eq!(Draft.approve(2, 2), Ok(Approved));
        assert_eq!(Draft.approve(1, 1), Ok(Approved));
        assert_eq!(Approved.execute(), Ok(Executed));
        assert_eq!(Draft.cancel(), Ok(Cancelled));
        assert_eq!(Approved.cancel(), Ok(Cancelled));
        for status in [Approved, Executed, Cancelled] {
            assert_eq!(status.approve(5, 1).map_err(|e| e.status), Err(status));
        }
        for status in [Draft, Executed, Cancelled] {
            assert!(status.execute().is_err(), "{status:?} executed");
        }
        for status in [Executed, Cancelled] {
            assert!(status.cancel().is_err(), "{status:?} cancelled");
        }
        assert_eq!(
            Draft.execute().map_err(|e| e.to_string()),
            Err("this distribution run is draft, so it cannot be executed".to_owned())
        );
    }

    #[test]
    fn statuses_read_back_what_they_write_and_nothing_else() {
        for status in [
            RunStatus::Draft,
            RunStatus::Approved,
            RunStatus::Executed,
            RunStatus::Cancelled,
        ] {
            assert_eq!(RunStatus::parse(status.as_str()), Ok(status));
        }
        assert_eq!(
            RunStatus::parse("Approved"),
            Err(UnknownStatus("Approved".to_owned()))
        );
    }

    #[test]
    fn approvers_are_distinct_and_never_the_author() {
        assert_eq!(
            check_approver("a", "a", &[]),
            Err(ApprovalError::SelfApproval)
        );
        assert_eq!(
            check_approver("a", "b", &["b"]),
            Err(ApprovalError::AlreadyApproved)
        );
        assert_eq!(check_approver("a", "c", &["b"]), Ok(()));
    }

    fn line(agent: &str, amount: i64) -> Line {
        Line {
            agent: agent.to_owned(),
            weight: 1,
            share_numerator: 0,
            share_denominator: 1,
            amount,
            rounding_adjustment: 0,
            capped_by: 0,
            dropped: false,
        }
    }

    fn contributor(agent: &str) -> Result<AccountName, PayeesError> {
        AccountName::parse(&format!("contributor:{agent}"))
            .map_err(|e| PayeesError::AccountName(e.to_string()))
    }

    #[test]
    fn payees_add_up_per_account_in_name_order() {
        let plan = Plan {
            amount: 0,
            steps: vec![
                StepResult {
                    index: 0,
                    amount: 100,
                    account: Some("reserve".to_owned()),
                    lines: Vec::new(),
                    residue: 0,
                },
                StepResult {
                    index: 1,
                    amount: 900,
                    account: None,
                    lines: vec![line("b", 500), line("a", 300), line("c", 0)],
                    residue: 0,
                },
                StepResult {
                    index: 2,
                    amount: 50,
                    account: None,
                    lines: vec![line("a", 50)],
                    residue: 0,
                },
            ],
            residue: 150,
        };
        let kept = payees(&plan, &Residue::Pool, contributor).expect("payees");
        let named: Vec<(String, i64, bool)> = kept
            .iter()
            .map(|payee| {
                (
                    payee.account.as_str().to_owned(),
                    payee.amount,
                    payee.contributor,
                )
            })
            .collect();
        assert_eq!(
            named,
            [
                ("contributor:a".to_owned(), 350, true),
                ("contributor:b".to_owned(), 500, true),
                ("reserve".to_owned(), 100, false),
            ]
        );
        let to_account = Residue::Account {
            account: "reserve".to_owned(),
        };
        let with_residue = payees(&plan, &to_account, contributor).expect("payees");
        assert_eq!(with_residue.last().map(|payee| payee.amount), Some(250));
    }

    #[test]
    fn a_plan_that_pays_nobody_is_refused() {
        let plan = Plan {
            amount: 0,
            steps: vec![StepResult {
                index: 0,
                amount: 0,
                account: None,
                lines: vec![line("a", 0)],
                residue: 0,
            }],
            residue: 0,
        };
        assert_eq!(
            payees(&plan, &Residue::Pool, contributor),
            Err(PayeesError::Empty)
        );
    }

    #[test]
    fn payees_overflowing_an_account_are_refused() {
        let plan = Plan {
            amount: 0,
            steps: vec![
                StepResult {
                    index: 0,
                    amount: i64::MAX,
                    account: None,
                    lines: vec![line("a", i64::MAX)],
                    residue: 0,
                },
                StepResult {
                    index: 1,
                    amount: 1,
                    account: None,
                    lines: vec![line("a", 1)],
                    residue: 0,
                },
            ],
            residue: 0,
        };
        assert!(matches!(
            payees(&plan, &Residue::Pool, contributor),
            Err(PayeesError::Overflow(_))
        ));
    }

    #[test]
    fn a_line_explains_its_basis_share_and_adjustments() {
        let mut with_extra = line("a", 334);
        with_extra.weight = 1;
        with_extra.share_numerator = 1000;
        with_extra.share_denominator = 3;
        with_extra.rounding_adjustment = 1;
        let plan = Plan {
            amount: 1000,
            steps: vec![StepResult {
                index: 0,
                amount: 1000,
                account: Some("reserve".to_owned()),
                lines: vec![with_extra],
                residue: 0,
            }],
            residue: 0,
        };
        let bases = BTreeMap::from([(
            "a".to_owned(),
            BTreeMap::from([("data".to_owned(), 50_000_i64), ("time".to_owned(), 31_250)]),
        )]);
        let unit = Unit::lookup("EUR").expect("EUR");
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).expect("date");
        let (transfers, lines) =
            explain(&plan, &bases, &unit, (day(1), day(31))).expect("explained");
        assert_eq!(transfers[0].amount, "10.00");
        assert_eq!(lines[0].basis, "812.50");
        assert_eq!(lines[0].share_percent, "100");
        assert_eq!(
            lines[0].explanation,
            "812.50 approved value (data 500.00, time 312.50) in 2026-03-01..2026-03-31: \
             100 % of the step's 10.00 = 3.333333 exactly, +0.01 by largest remainder; paid 3.34"
        );
    }
}
