//! Operations: one function per use case that spans several aggregates
//! (recording a contribution, receiving a grant, a fund movement, a
//! distribution run's lifecycle, verifying a ledger). Each takes domain values and a
//! connection, applies the domain's rules through the database, and returns
//! domain results or an [`Error`]. Nothing here knows HTTP: the handlers in
//! `routes/` and the command line call these, and map [`Error`] to their
//! own answers. Authorization is the caller's, made before the call in the
//! same transaction.

pub mod claims;
pub mod closings;
pub mod contributions;
pub mod distributions;
pub mod funds;
pub mod in_kind;
pub mod members;
pub mod rates;
pub mod signing_key;
pub mod verification;

use chrono::NaiveDate;

use crate::db::StorageError;
use crate::domain::TransactionError;
use crate::domain::distribution::{ApprovalError, StateError};
use crate::domain::funds::DecisionRefusal;
use crate::domain::money::Overflow;

/// A value of a request that breaks a rule, named by the field it came
/// from, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, code: &str, message: impl ToString) -> Self {
        FieldProblem {
            field: field.into(),
            code: code.to_owned(),
            message: message.to_string(),
        }
    }
}

/// What the resource a lookup did not find is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Contribution,
    RuleSet,
    Grant,
    Distribution,
    Payout,
    Expense,
    Release,
    Claim,
}

impl Missing {
    /// The resource's name, as problem codes use it (`<name>_not_found`).
    pub fn name(self) -> &'static str {
        match self {
            Missing::Contribution => "contribution",
            Missing::RuleSet => "rule set",
            Missing::Grant => "grant",
            Missing::Distribution => "distribution",
            Missing::Payout => "payout",
            Missing::Expense => "expense",
            Missing::Release => "release",
            Missing::Claim => "claim",
        }
    }
}

/// A use case's refusal that is about no one field: what was asked cannot
/// be done in the state things are in. The messages are the ones clients
/// read; the problem code of each is declared in `http/codes.rs`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "a rate for this scope already starts on this date; rates are never edited, add one from another date"
    )]
    RateExists,
    #[error(
        "no valuation rate applies to this contribution on its date, and the project does not accept unvalued contributions"
    )]
    NoApplicableRate,
    #[error("nobody reviews a contribution they made or recorded")]
    SelfReview,
    #[error("this contribution has already been decided ({0})")]
    ContributionDecided(String),
    #[error("you have already reviewed this contribution")]
    AlreadyReviewed,
    #[error("a grant with the reference `{0}` is already recorded in this project")]
    DuplicateReference(String),
    #[error("`{0}` is not one of the project's expense categories")]
    UnknownCategory(String),
    #[error("this grant's money is restricted to: {0}")]
    RestrictedPurpose(String),
    #[error("agent {0} is already a member of this project")]
    MemberExists(String),
    /// Money would leave a restricted grant's pool by a path that does not
    /// know the restriction.
    #[error("{0}")]
    RestrictedFunds(String),
    /// A distribution from an account that is not a pool.
    #[error("`{0}` is not a pool: a distribution draws only from a pool account (`pool:...`)")]
    NotAPool(String),
    /// A release of a grant whose money is not restricted.
    #[error(
        "grant `{0}` is not restricted: its money is already in the general pool, there is nothing to release"
    )]
    NotRestricted(String),
    /// An existing account a managed operation would need, but whose
    /// flags or currency are not the ones it needs.
    #[error("{0}")]
    AccountConflict(String),
    /// Four eyes: the person who recorded pending money decides it.
    #[error("nobody approves or rejects money they recorded: another owner or treasurer does")]
    SelfDecision,
    /// A pending record already approved (posted) or rejected.
    #[error("this is already {0}; a decision is final")]
    AlreadyDecided(String),
    /// A distribution from a pool of one currency over contributions
    /// valued in another.
    #[error(
        "`{pool}` holds {currency}, but contributions of the period are valued in {valued_in}: exchange the money into that currency first (`POST .../exchanges`), then distribute from its pool"
    )]
    ExchangeFirst {
        pool: String,
        currency: String,
        valued_in: String,
    },
    /// A closing through a date on or before the books' closing.
    #[error(
        "the books are closed through {closed} already: a closing only moves forward (asked: {through})"
    )]
    ClosingNotForward {
        closed: NaiveDate,
        through: NaiveDate,
    },
    /// A closing of today or later: only what has happened is closed.
    #[error("only past days are closed: {through} is not before today ({today})")]
    ClosingNotPast {
        through: NaiveDate,
        today: NaiveDate,
    },
    /// A contribution already counted toward a grant's match.
    #[error(
        "this contribution's value already counts toward grant `{0}`: in-kind value is counted once"
    )]
    AlreadyAllocated(String),
}

impl Refusal {
    /// The refusal of a four-eyes decision the domain refused: on a record
    /// already decided, standing at `status`, or by the person who recorded
    /// it. Pending money (payouts, expenses, releases) and claims are
    /// refused alike.
    pub(crate) fn of_decision(refusal: DecisionRefusal, status: &str) -> Self {
        match refusal {
            DecisionRefusal::Decided => Self::AlreadyDecided(status.to_owned()),
            DecisionRefusal::OwnRecord => Self::SelfDecision,
        }
    }
}

/// Why an operation did nothing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldProblem>),
    #[error("{} not found", .0.name())]
    NotFound(Missing),
    #[error("agent {0} does not exist")]
    UnknownAgent(String),
    #[error("this contribution is already corrected by contribution {0}")]
    AlreadyCorrected(String),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Ledger(#[from] TransactionError),
    #[error(transparent)]
    RunState(#[from] StateError),
    #[error(transparent)]
    Approval(#[from] ApprovalError),
    /// An approved run whose plan pays nobody is not executed.
    #[error("this distribution run pays nobody")]
    PaysNobody,
    #[error(transparent)]
    Overflow(#[from] Overflow),
    /// What a computation read changed before its result could be written.
    #[error("{0} changed while this request was computed")]
    Changed(&'static str),
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A stored value the service would never have written.
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

/// A posting refused by a ledger rule, or failed in the database.
impl From<crate::db::transactions::PostError> for Error {
    fn from(error: crate::db::transactions::PostError) -> Self {
        match error {
            crate::db::transactions::PostError::Rule(rule) => Error::Ledger(rule),
            crate::db::transactions::PostError::Database(database) => database.into(),
        }
    }
}

impl From<diesel::result::Error> for Error {
    fn from(error: diesel::result::Error) -> Self {
        Error::Storage(StorageError::Query(error))
    }
}

impl Error {
    pub fn invalid(field: impl Into<String>, code: &str, message: impl ToString) -> Self {
        Error::Invalid(vec![FieldProblem::new(field, code, message)])
    }

    pub fn corrupt(what: impl ToString) -> Self {
        Error::Corrupt(what.to_string())
    }
}
