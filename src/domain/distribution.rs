//! A distribution run's rules: the states it moves through, who may approve
//! it, and the postings its plan makes when it is executed.
//!
//! ```text
//! draft --(enough approvals)--> approved --(execution)--> executed
//!   \                              |
//!    +------> cancelled <----------+
//! ```

use std::collections::BTreeMap;

use super::AccountName;
use super::allocation::{Plan, Residue};
use super::money::Overflow;

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
    /// With two or more approvals required, the author cannot be one of them.
    #[error("with two or more approvals required, the author of a run cannot approve it")]
    SelfApproval,
    #[error("you have already approved this run")]
    AlreadyApproved,
}

/// Checks that `approver` may approve a run by `author` that `approvers`
/// have approved so far, with `required` approvals needed. One approval
/// required: anyone allowed to approve, the author included (a
/// one-person collective); two or more: people other than the author.
pub fn check_approver(
    author: &str,
    approver: &str,
    approvers: &[&str],
    required: i32,
) -> Result<(), ApprovalError> {
    if required >= 2 && author == approver {
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
    fn approvers_are_distinct_and_not_the_author_when_two_are_needed() {
        assert_eq!(check_approver("a", "a", &[], 1), Ok(()));
        assert_eq!(
            check_approver("a", "a", &[], 2),
            Err(ApprovalError::SelfApproval)
        );
        assert_eq!(
            check_approver("a", "b", &["b"], 2),
            Err(ApprovalError::AlreadyApproved)
        );
        assert_eq!(check_approver("a", "c", &["b"], 2), Ok(()));
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
}
