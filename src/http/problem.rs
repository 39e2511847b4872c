//! Errors as RFC 9457 problem details. Every variant maps explicitly to a
//! status and a stable snake_case `code`; internal failures are logged once
//! here and answered with an opaque 500.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use super::codes::{FieldCode, ProblemCode, Resource};
use crate::auth::AuthError;
use crate::db::StorageError;
use crate::db::transactions::PostError;
use crate::domain::TransactionError;
use crate::domain::money::Overflow;

/// The media type of every error body.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:commons-ledger:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short, human-readable summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// Stable, machine-readable error code.
    pub code: String,
    /// For validation errors: every offending field, at most 1,000 of them.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    #[schema(max_items = 1000)]
    pub errors: Vec<FieldError>,
    /// How many further problems were found but not listed in `errors`
    /// (absent when every problem is listed).
    #[serde(skip_serializing_if = "is_zero", default)]
    #[schema(minimum = 1)]
    pub errors_omitted: u64,
}

fn is_zero(count: &u64) -> bool {
    *count == 0
}

/// Most problems one response lists; the rest are only counted
/// (`errors_omitted`). One request can break one rule a great many times
/// (400,000 unknown column names fit in a CSV header of 0.8 MB), and the
/// answer, like the memory spent building it, must stay small whatever it
/// sends.
pub const PROBLEMS_LISTED_MAX: usize = 1_000;

/// The problems found in one request: the first [`PROBLEMS_LISTED_MAX`]
/// kept, the others counted, so collecting them takes bounded memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems {
    listed: Vec<FieldError>,
    omitted: u64,
}

impl Problems {
    pub fn new() -> Self {
        Problems::default()
    }

    pub fn push(&mut self, problem: FieldError) {
        if self.listed.len() < PROBLEMS_LISTED_MAX {
            self.listed.push(problem);
        } else {
            self.omitted = self.omitted.saturating_add(1);
        }
    }

    pub fn extend(&mut self, problems: impl IntoIterator<Item = FieldError>) {
        for problem in problems {
            self.push(problem);
        }
    }

    /// Adds the problems of another collection, its uncounted ones included.
    pub fn append(&mut self, other: Problems) {
        self.extend(other.listed);
        self.omitted = self.omitted.saturating_add(other.omitted);
    }

    pub fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    /// The problems kept, in the order they were found.
    pub fn listed(&self) -> &[FieldError] {
        &self.listed
    }

    /// How many problems were found beyond the ones kept.
    pub fn omitted(&self) -> u64 {
        self.omitted
    }

    /// Orders the kept problems by the line of the file they are on.
    pub fn sort_by_row(&mut self) {
        self.listed.sort_by_key(|problem| problem.row);
    }
}

impl From<Vec<FieldError>> for Problems {
    fn from(problems: Vec<FieldError>) -> Self {
        let mut collected = Problems::new();
        collected.extend(problems);
        collected
    }
}

impl From<Problems> for ApiError {
    fn from(problems: Problems) -> Self {
        ApiError::Problems(problems)
    }
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct FieldError {
    /// Path of the field, e.g. `postings[0].amount`.
    pub field: String,
    /// Stable code of the rule the field breaks, e.g. `amount_precision`.
    #[schema(value_type = String)]
    pub code: FieldCode,
    /// Why the value was refused.
    pub message: String,
    /// For a CSV upload: the line of the file (the header is line 1).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub row: Option<u64>,
    /// For a CSV upload: the column's name in the header.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub column: Option<String>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: FieldCode, message: impl ToString) -> Self {
        FieldError {
            field: field.into(),
            code,
            message: message.to_string(),
            row: None,
            column: None,
        }
    }

    /// A problem with one cell of an uploaded CSV file.
    pub fn cell(row: u64, column: &str, code: FieldCode, message: impl ToString) -> Self {
        FieldError {
            field: format!("rows[{row}].{column}"),
            code,
            message: message.to_string(),
            row: Some(row),
            column: Some(column.to_owned()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    /// Like `Validation`, for requests whose problems were collected with a
    /// bound (a CSV file's rows and columns).
    #[error("the request has invalid fields")]
    Problems(Problems),
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("the body does not match the expected shape: {0}")]
    InvalidBody(String),
    /// The body's content type is not the one the operation reads (named).
    #[error("the body must be {0}")]
    UnsupportedMediaType(&'static str),
    #[error("the body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    #[error("invalid query parameter: {0}")]
    InvalidQuery(String),
    #[error("cursor is not one this service issued")]
    InvalidCursor,
    #[error("invalid path parameter: {0}")]
    InvalidPath(String),
    #[error("{0} not found")]
    NotFound(Resource),
    #[error("no such route")]
    RouteNotFound,
    #[error("this resource does not support the {0} method")]
    /// The method asked for, and the methods the path allows (`Allow`).
    MethodNotAllowed(String, String),
    #[error("an account named `{0}` already exists in this project")]
    AccountExists(String),
    #[error("transaction {0} has already been reversed")]
    AlreadyReversed(String),
    #[error("transaction {0} is itself a reversal; post a new transaction instead")]
    ReversalOfReversal(String),
    #[error(transparent)]
    Ledger(#[from] TransactionError),
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyInFlight,
    #[error("invalid Idempotency-Key: {0}")]
    InvalidIdempotencyKey(String),
    #[error(transparent)]
    Unauthorized(#[from] AuthError),
    #[error("the email or password is wrong")]
    InvalidCredentials,
    #[error("your role in this project does not allow this")]
    Forbidden,
    #[error("only an instance administrator may {0}")]
    AdminOnly(&'static str),
    #[error("too many sign-in attempts; retry after {0} s")]
    TooManyAttempts(u64),
    /// Every password hasher is taken, or the instance's ceiling of
    /// verifications per minute is reached: retry after the given seconds.
    #[error("the service is verifying as many passwords as it can; retry after {0} s")]
    SignInBusy(u64),
    #[error("agent {0} does not exist")]
    UnknownAgent(String),
    #[error("an agent with this email already exists")]
    EmailTaken,
    #[error("agent {0} already has a pending invitation to this project")]
    InvitationExists(String),
    #[error("a project keeps at least one owner")]
    LastOwner,
    #[error(
        "this token has no id to revoke: an external provider's token is revoked there, an older token expires on its own"
    )]
    TokenNotRevocable,
    #[error("this contribution is already corrected by contribution {0}")]
    AlreadyCorrected(String),
    #[error(transparent)]
    Refused(crate::ops::Refusal),
    #[error("an expense category named `{0}` already exists")]
    CategoryExists(String),
    #[error("this distribution run is {0}, so it cannot {1}")]
    DistributionState(String, &'static str),
    #[error("the author of a run cannot approve it: another owner or treasurer does")]
    SelfApproval,
    #[error("you have already approved this run")]
    AlreadyApproved,
    /// A computation on figures within the stated limits that still does not
    /// fit exact arithmetic (e.g. a share of a huge pool by a huge weight).
    #[error("{0}; nothing was recorded")]
    ArithmeticOverflow(#[from] Overflow),
    /// What a request computed outside the writer read (a pool's balance,
    /// the contributions' decisions, rates, memberships) kept changing
    /// before its result could be written; nothing was recorded.
    #[error(
        "{0} changed while this request was computed, again and again; nothing was recorded, retry"
    )]
    ChangedDuringComputation(&'static str),
    #[error("the service is temporarily unable to reach its database")]
    Unavailable,
    #[error(
        "this instance serves reads only (it runs over a read replica): send writes to an instance over the primary database"
    )]
    ReadOnly,
    #[error(
        "the request took longer than {0} s; if it was a write, retry it with the same Idempotency-Key"
    )]
    RequestTimeout(u64),
    /// A write kept colliding with others (retried, then given up).
    #[error("the database is busy with conflicting writes; retry")]
    Busy(String),
    /// A transaction of an atomic batch was refused: nothing was written.
    #[error(
        "transaction {index} of the batch was refused ({}): {}; nothing of the batch was written",
        problem.code,
        problem.detail
    )]
    BatchItem { index: usize, problem: Box<Problem> },
    #[error("internal error: {0}")]
    Internal(#[source] InternalError),
}

/// What failed inside the service: the step that failed and, when another
/// error made it fail, that error, so that the whole cause chain is logged.
/// None of it is ever sent to the client.
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct InternalError {
    context: std::borrow::Cow<'static, str>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl InternalError {
    /// The step, then each cause in turn: `decoding a stored plan: expected
    /// value at line 1 column 1`.
    pub fn cause_chain(&self) -> String {
        let mut chain = self.context.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(error) = cause {
            chain.push_str(": ");
            chain.push_str(&error.to_string());
            cause = error.source();
        }
        chain
    }
}

impl ApiError {
    /// The problem code of each variant, mapped explicitly.
    fn problem_code(&self) -> ProblemCode {
        use ProblemCode as C;
        match self {
            ApiError::Validation(_) | ApiError::Problems(_) => C::ValidationFailed,
            ApiError::MalformedJson(_) => C::MalformedJson,
            ApiError::InvalidBody(_) => C::InvalidBody,
            ApiError::UnsupportedMediaType(_) => C::UnsupportedMediaType,
            ApiError::PayloadTooLarge(_) => C::BodyTooLarge,
            ApiError::InvalidQuery(_) => C::InvalidQuery,
            ApiError::InvalidCursor => C::InvalidCursor,
            ApiError::InvalidPath(_) => C::InvalidPath,
            ApiError::NotFound(resource) => resource.problem_code(),
            ApiError::RouteNotFound => C::NotFound,
            ApiError::MethodNotAllowed(..) => C::MethodNotAllowed,
            ApiError::AccountExists(_) => C::AccountExists,
            ApiError::AlreadyReversed(_) => C::AlreadyReversed,
            ApiError::ReversalOfReversal(_) => C::ReversalNotReversible,
            ApiError::Ledger(error) => ledger_code(error),
            ApiError::IdempotencyKeyReused => C::IdempotencyKeyReused,
            ApiError::IdempotencyInFlight => C::IdempotencyRequestInFlight,
            ApiError::InvalidIdempotencyKey(_) => C::InvalidIdempotencyKey,
            ApiError::Unauthorized(error) => auth_code(error),
            ApiError::InvalidCredentials => C::InvalidCredentials,
            ApiError::Forbidden => C::Forbidden,
            ApiError::AdminOnly(_) => C::AdminOnly,
            ApiError::TooManyAttempts(_) => C::TooManyAttempts,
            ApiError::SignInBusy(_) => C::SignInBusy,
            ApiError::UnknownAgent(_) => C::UnknownAgent,
            ApiError::EmailTaken => C::EmailTaken,
            ApiError::InvitationExists(_) => C::InvitationExists,
            ApiError::LastOwner => C::LastOwner,
            ApiError::TokenNotRevocable => C::TokenNotRevocable,
            ApiError::Refused(refusal) => {
                use crate::ops::Refusal as R;
                match refusal {
                    R::RateExists => C::RateExists,
                    R::NoApplicableRate => C::NoApplicableRate,
                    R::SelfReview => C::SelfReview,
                    R::ContributionDecided(_) => C::ContributionDecided,
                    R::AlreadyReviewed => C::AlreadyReviewed,
                    R::DuplicateReference(_) => C::DuplicateReference,
                    R::UnknownCategory(_) => C::UnknownCategory,
                    R::RestrictedPurpose(_) => C::RestrictedPurpose,
                    R::MemberExists(_) => C::MemberExists,
                    R::RestrictedFunds(_) => C::RestrictedFunds,
                    R::NotAPool(_) => C::NotAPool,
                    R::NotRestricted(_) => C::NotRestricted,
                    R::AccountConflict(_) => C::AccountConflict,
                    R::SelfDecision => C::SelfApproval,
                    R::AlreadyDecided(_) => C::AlreadyDecided,
                    R::ExchangeFirst { .. } => C::ExchangeFirst,
                    R::ClosingNotForward { .. } => C::ClosingNotForward,
                    R::ClosingNotPast { .. } => C::ClosingNotPast,
                    R::AlreadyAllocated(_) => C::AlreadyAllocated,
                }
            }
            ApiError::AlreadyCorrected(_) => C::AlreadyCorrected,
            ApiError::CategoryExists(_) => C::CategoryExists,
            ApiError::DistributionState(..) => C::DistributionState,
            ApiError::SelfApproval => C::SelfApproval,
            ApiError::AlreadyApproved => C::AlreadyApproved,
            ApiError::ArithmeticOverflow(_) => C::ArithmeticOverflow,
            ApiError::ChangedDuringComputation(_) => C::ChangedDuringComputation,
            ApiError::Unavailable => C::ServiceUnavailable,
            ApiError::ReadOnly => C::ReadOnlyInstance,
            ApiError::Busy(_) => C::DatabaseBusy,
            ApiError::RequestTimeout(_) => C::RequestTimeout,
            ApiError::BatchItem { .. } => C::BatchItemRefused,
            ApiError::Internal(_) => C::InternalError,
        }
    }

    /// Stable code, HTTP status and title: a validation error takes its
    /// fields' code when they agree on one that names the problem.
    fn describe(&self) -> (&'static str, StatusCode, &'static str) {
        let problem = self.problem_code();
        let code = match self {
            ApiError::Validation(errors) => common_code(errors),
            ApiError::Problems(problems) => common_code(problems.listed()),
            _ => problem.as_str(),
        };
        (code, problem.status(), problem.title())
    }

    pub fn code(&self) -> &'static str {
        self.describe().0
    }

    /// The problem document of this error, as sent to the client.
    pub fn problem(&self) -> Problem {
        let (code, status, title) = self.describe();
        let detail = match self {
            // Never show internal text (SQL, causes) to the client.
            ApiError::Internal(_) => {
                "the server failed to handle this request; it has been logged".to_owned()
            }
            ApiError::Unavailable | ApiError::Busy(_) => self.to_string(),
            other => other.to_string(),
        };
        // Every list of problems is capped here, however it was built.
        let problems = match self {
            ApiError::Validation(errors) => Problems::from(errors.clone()),
            ApiError::Problems(problems) => problems.clone(),
            // The item's own fields, named within the batch.
            ApiError::BatchItem { index, problem } => Problems::from(
                problem
                    .errors
                    .iter()
                    .map(|error| FieldError {
                        field: format!("transactions[{index}].{}", error.field),
                        ..error.clone()
                    })
                    .collect::<Vec<_>>(),
            ),
            _ => Problems::new(),
        };
        Problem {
            problem_type: format!("urn:commons-ledger:problem:{code}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            code: code.to_owned(),
            errors_omitted: problems.omitted,
            errors: problems.listed,
        }
    }

    /// Single-field validation error.
    pub fn field(field: impl Into<String>, code: FieldCode, message: impl ToString) -> Self {
        ApiError::Validation(vec![FieldError::new(field, code, message)])
    }

    /// A failure inside the service, with no cause to chain.
    pub fn internal(context: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        ApiError::Internal(InternalError {
            context: context.into(),
            source: None,
        })
    }

    /// A failure inside the service caused by `source`, logged with its
    /// whole chain.
    pub fn internal_from(
        context: impl Into<std::borrow::Cow<'static, str>>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        ApiError::Internal(InternalError {
            context: context.into(),
            source: Some(Box::new(source)),
        })
    }
}

/// The code of a validation error: the fields' own code when they agree,
/// so `amount_precision` stays `amount_precision` at the top level.
fn common_code(errors: &[FieldError]) -> &'static str {
    match errors.first().map(|e| e.code) {
        Some(code) if code.names_the_problem() && errors.iter().all(|e| e.code == code) => {
            code.as_str()
        }
        _ => ProblemCode::ValidationFailed.as_str(),
    }
}

fn auth_code(error: &AuthError) -> ProblemCode {
    match error {
        AuthError::Missing => ProblemCode::AuthenticationRequired,
        AuthError::Malformed | AuthError::Invalid(_) => ProblemCode::InvalidToken,
        AuthError::Expired => ProblemCode::TokenExpired,
        AuthError::Revoked => ProblemCode::TokenRevoked,
        AuthError::UnknownAgent => ProblemCode::InvalidToken,
        AuthError::Misconfigured => ProblemCode::InvalidToken,
    }
}

fn ledger_code(error: &TransactionError) -> ProblemCode {
    match error {
        TransactionError::UnknownAccount(_) => ProblemCode::UnknownAccount,
        TransactionError::CurrencyMismatch { .. } => ProblemCode::CurrencyMismatch,
        TransactionError::SameAccount { .. } => ProblemCode::SameAccount,
        TransactionError::InsufficientFunds { .. } => ProblemCode::InsufficientFunds,
        TransactionError::BalanceOverflow(_) => ProblemCode::BalanceOverflow,
        TransactionError::Unbalanced(_) => ProblemCode::UnbalancedTransaction,
        TransactionError::PeriodClosed { .. } => ProblemCode::PeriodClosed,
        TransactionError::NegativeOnDate { .. } => ProblemCode::InsufficientFunds,
        TransactionError::DateOutOfRange { .. } => ProblemCode::DateOutOfRange,
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.describe().1
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(error) = self {
            tracing::error!(error.cause_chain = %error.cause_chain(), "request failed");
        }
        let problem = self.problem();
        let mut response = HttpResponse::build(self.status_code());
        response.content_type(PROBLEM_CONTENT_TYPE);
        match self {
            ApiError::Unauthorized(_) | ApiError::InvalidCredentials => {
                response.insert_header(("WWW-Authenticate", "Bearer"));
            }
            ApiError::TooManyAttempts(seconds) | ApiError::SignInBusy(seconds) => {
                response.insert_header(("Retry-After", seconds.to_string()));
            }
            ApiError::MethodNotAllowed(_, allowed) => {
                response.insert_header(("Allow", allowed.as_str()));
            }
            ApiError::Unavailable | ApiError::Busy(_) | ApiError::RequestTimeout(_) => {
                response.insert_header(("Retry-After", "1"));
            }
            _ => {}
        }
        response.json(problem)
    }
}

/// Errors of the credentials extractor answer like every other error.
impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        StatusCode::UNAUTHORIZED
    }

    fn error_response(&self) -> HttpResponse {
        ApiError::Unauthorized(self.clone()).error_response()
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        use crate::db::Transient;
        if error.is_transient() {
            ApiError::Busy(error.to_string())
        } else {
            ApiError::internal_from("database", error)
        }
    }
}

impl crate::db::Transient for ApiError {
    fn is_transient(&self) -> bool {
        matches!(self, ApiError::Busy(_))
    }
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::Pool(cause) => {
                tracing::warn!(error = %cause, "no database connection available");
                ApiError::Unavailable
            }
            // A transient failure stays one: the write is retried.
            StorageError::Query(query) => query.into(),
            other => ApiError::internal_from("storage", other),
        }
    }
}

/// The field-error code an operation's problem names (operations name them
/// by string); an unknown one is a bug, answered as a logged 500.
pub fn field_code(problem: &crate::ops::FieldProblem) -> Result<FieldCode, ApiError> {
    FieldCode::parse(&problem.code).ok_or_else(|| {
        ApiError::internal(format!(
            "an operation refused `{}` with the unknown code `{}`",
            problem.field, problem.code
        ))
    })
}

impl From<crate::ops::Error> for ApiError {
    fn from(error: crate::ops::Error) -> Self {
        use crate::ops::{Error, Missing};
        match error {
            Error::Invalid(problems) => problems
                .into_iter()
                .map(|p| Ok(FieldError::new(p.field.clone(), field_code(&p)?, p.message)))
                .collect::<Result<Vec<_>, _>>()
                .map_or_else(|internal| internal, ApiError::Validation),
            Error::NotFound(missing) => ApiError::NotFound(match missing {
                Missing::Contribution => Resource::Contribution,
                Missing::RuleSet => Resource::RuleSet,
                Missing::Grant => Resource::Grant,
                Missing::Distribution => Resource::Distribution,
                Missing::Payout => Resource::Payout,
                Missing::Expense => Resource::Expense,
                Missing::Release => Resource::Release,
                Missing::Claim => Resource::Claim,
            }),
            Error::UnknownAgent(agent) => ApiError::UnknownAgent(agent),
            Error::AlreadyCorrected(by) => ApiError::AlreadyCorrected(by),
            Error::Refused(refusal) => ApiError::Refused(refusal),
            Error::Ledger(rule) => ApiError::Ledger(rule),
            Error::RunState(state) => state.into(),
            Error::Approval(approval) => approval.into(),
            Error::PaysNobody => {
                ApiError::DistributionState("empty".to_owned(), "be executed: it pays nobody")
            }
            Error::Overflow(overflow) => ApiError::ArithmeticOverflow(overflow),
            Error::Changed(what) => ApiError::ChangedDuringComputation(what),
            Error::Storage(storage) => storage.into(),
            Error::Corrupt(what) => {
                ApiError::internal(format!("stored data is unreadable: {what}"))
            }
        }
    }
}

impl From<PostError> for ApiError {
    fn from(error: PostError) -> Self {
        match error {
            PostError::Rule(rule) => ApiError::Ledger(rule),
            PostError::Database(database) => database.into(),
        }
    }
}

/// A hash that could not run now: the hashers are all taken, or the
/// request waited its longest for one.
impl From<crate::auth::hashers::Busy> for ApiError {
    fn from(busy: crate::auth::hashers::Busy) -> Self {
        match busy {
            crate::auth::hashers::Busy::QueueFull | crate::auth::hashers::Busy::Waited => {
                ApiError::SignInBusy(1)
            }
            crate::auth::hashers::Busy::Stopped => {
                ApiError::internal("the password hashers have stopped")
            }
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        ApiError::internal_from("blocking task", error)
    }
}

impl From<crate::domain::distribution::StateError> for ApiError {
    fn from(error: crate::domain::distribution::StateError) -> Self {
        ApiError::DistributionState(error.status.as_str().to_owned(), error.action)
    }
}

impl From<crate::domain::distribution::ApprovalError> for ApiError {
    fn from(error: crate::domain::distribution::ApprovalError) -> Self {
        use crate::domain::distribution::ApprovalError;
        match error {
            ApprovalError::SelfApproval => ApiError::SelfApproval,
            ApprovalError::AlreadyApproved => ApiError::AlreadyApproved,
        }
    }
}

impl From<crate::domain::transaction::ReversalError> for ApiError {
    fn from(error: crate::domain::transaction::ReversalError) -> Self {
        use crate::domain::transaction::ReversalError;
        match error {
            ReversalError::OfAReversal(id) => ApiError::ReversalOfReversal(id),
            ReversalError::AlreadyReversed(id) => ApiError::AlreadyReversed(id),
            unreadable @ ReversalError::Unreadable(..) => {
                ApiError::internal_from("reversing a stored transaction", unreadable)
            }
        }
    }
}

impl From<FieldError> for crate::ops::FieldProblem {
    fn from(error: FieldError) -> Self {
        crate::ops::FieldProblem::new(error.field, error.code.as_str(), error.message)
    }
}
