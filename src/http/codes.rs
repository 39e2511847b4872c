//! Every stable code of the HTTP error contract, declared once: the problem
//! codes (the `code` of a problem document, with its status and title) and
//! the field-error codes (the `code` of each entry of its `errors`), each
//! with what it means. `ApiError` answers with these, and `docs/errors.md`
//! is generated from them (see [`errors_markdown`]).

use actix_web::http::StatusCode;

/// Declares an enum of codes from its table, with what every kind of code
/// has: `ALL` in the order of the table, `as_str` (the code on the wire)
/// and `meaning`. The kinds' own macros below add what is theirs.
macro_rules! code_enum {
    (
        $(#[$attr:meta])* $name:ident, $all:literal, $meaning_doc:literal,
        $($variant:ident => $code:literal, $meaning:literal;)*
    ) => {
        $(#[$attr])*
        pub enum $name {
            $($variant,)*
        }

        impl $name {
            #[doc = $all]
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)*
                }
            }

            #[doc = $meaning_doc]
            pub fn meaning(self) -> &'static str {
                match self {
                    $($name::$variant => $meaning,)*
                }
            }
        }
    };
}

/// Declares [`ProblemCode`] from one table: variant, code, status, title
/// and meaning.
macro_rules! problem_codes {
    ($($variant:ident => $code:literal, $status:ident, $title:literal, $meaning:literal;)*) => {
        code_enum! {
            /// The `code` of a problem document.
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            ProblemCode,
            "Every problem code, in the order of the table.",
            "When the service answers with it.",
            $($variant => $code, $meaning;)*
        }

        impl ProblemCode {
            pub fn status(self) -> StatusCode {
                match self {
                    $(ProblemCode::$variant => StatusCode::$status,)*
                }
            }

            /// The problem document's `title`.
            pub fn title(self) -> &'static str {
                match self {
                    $(ProblemCode::$variant => $title,)*
                }
            }
        }
    };
}

/// Declares [`FieldCode`] from one table: variant, code, whether it
/// becomes the problem's own `code` when every field shares it, and meaning.
macro_rules! field_codes {
    ($($variant:ident => $code:literal, $names_the_problem:literal, $meaning:literal;)*) => {
        code_enum! {
            /// The `code` of one entry of a problem's `errors`: the rule a field
            /// (or a cell of an uploaded file) breaks.
            #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
            #[serde(rename_all = "snake_case")]
            FieldCode,
            "Every field-error code, in the order of the table.",
            "When a field is refused with it.",
            $($variant => $code, $meaning;)*
        }

        impl FieldCode {
            /// The code named by `text`, if it is one.
            pub fn parse(text: &str) -> Option<FieldCode> {
                FieldCode::ALL.iter().copied().find(|code| code.as_str() == text)
            }

            /// Whether a problem whose fields all break this rule takes it
            /// as its own `code` (else it is `validation_failed`).
            pub fn names_the_problem(self) -> bool {
                match self {
                    $(FieldCode::$variant => $names_the_problem,)*
                }
            }
        }
    };
}

problem_codes! {
    MalformedJson => "malformed_json", BAD_REQUEST, "Malformed JSON",
        "The body is not valid JSON, or could not be read";
    InvalidQuery => "invalid_query", BAD_REQUEST, "Invalid query parameter",
        "A query parameter is invalid: `limit` outside 1..1000, a bad date, `kind` or `status` filter";
    InvalidCursor => "invalid_cursor", BAD_REQUEST, "Invalid cursor",
        "A `cursor` this service did not issue for that list: not hex, not UTF-8, or not a sort key of the list (an id, an account name, a sequence or version number); checked before anything reaches the database";
    InvalidPath => "invalid_path", BAD_REQUEST, "Invalid path parameter",
        "A path parameter could not be read";
    InvalidIdempotencyKey => "invalid_idempotency_key", BAD_REQUEST, "Invalid idempotency key",
        "`Idempotency-Key` is empty, longer than 255 characters, or not visible ASCII (a space or a tab inside included)";
    AuthenticationRequired => "authentication_required", UNAUTHORIZED, "Unauthorized",
        "No token, on an endpoint or a project that needs one";
    InvalidToken => "invalid_token", UNAUTHORIZED, "Unauthorized",
        "The `Authorization` header is not `Bearer <token>`, or the token is malformed, badly signed, of another algorithm, issuer or audience, not valid yet, issued in the future (`iat` beyond 30 s of leeway), carries a `crit` header, or misses a claim (an external provider's token: also `email`)";
    TokenExpired => "token_expired", UNAUTHORIZED, "Unauthorized",
        "The token's `exp` has passed (beyond 30 s of leeway); sign in again";
    TokenRevoked => "token_revoked", UNAUTHORIZED, "Unauthorized",
        "The token's version is older than its agent's, or no agent matches it (an external token's email is unknown); sign in again. Membership changes revoke no token";
    InvalidCredentials => "invalid_credentials", UNAUTHORIZED, "Invalid credentials",
        "Sign-in: the email or the password is wrong (the answer does not say which)";
    Forbidden => "forbidden", FORBIDDEN, "Forbidden",
        "The caller may see the project, but their role does not allow this";
    AdminOnly => "admin_only", FORBIDDEN, "Forbidden",
        "Only an instance administrator may give an agent an email, a password or administrator rights, add a member directly (owners invite), or, with `--project-creation administrators`, create a project";
    SelfReview => "self_review", FORBIDDEN, "Self review",
        "Nobody reviews a contribution they made or recorded";
    SelfApproval => "self_approval", FORBIDDEN, "Self approval",
        "Four eyes: the author of a distribution run approves it, or the person who recorded a pending payout, expense or release approves or rejects it, or a claimant approves or rejects their own expense claim; another owner or treasurer does";
    ProjectNotFound => "project_not_found", NOT_FOUND, "Not found",
        "No project with this id, or one the caller may not know exists";
    AccountNotFound => "account_not_found", NOT_FOUND, "Not found",
        "No account with this name in the project";
    TransactionNotFound => "transaction_not_found", NOT_FOUND, "Not found",
        "No transaction with this id in the project";
    AgentNotFound => "agent_not_found", NOT_FOUND, "Not found",
        "No agent with this id (also a value account's agent)";
    MemberNotFound => "member_not_found", NOT_FOUND, "Not found",
        "The agent is not a member of the project";
    InvitationNotFound => "invitation_not_found", NOT_FOUND, "Not found",
        "No pending invitation with this id in the project, or none of the caller's (`GET /v1/me/invitations` lists theirs)";
    ContributionNotFound => "contribution_not_found", NOT_FOUND, "Not found",
        "No contribution with this id in the project (read, reviewed, or named by `supersedes`)";
    PayoutNotFound => "payout_not_found", NOT_FOUND, "Not found",
        "No payout with this id in the project";
    ExpenseNotFound => "expense_not_found", NOT_FOUND, "Not found",
        "No expense with this id in the project";
    ReleaseNotFound => "release_not_found", NOT_FOUND, "Not found",
        "No release with this id of this grant in the project";
    GrantNotFound => "grant_not_found", NOT_FOUND, "Not found",
        "No grant with this id in the project (`get_grant`, or an expense's, a distribution draft's or a claim approval's `grant`)";
    RuleSetNotFound => "rule_set_not_found", NOT_FOUND, "Not found",
        "No rule set version with this number in the project (`get_rule_set`, or a draft's `rule_set_version`)";
    DistributionNotFound => "distribution_not_found", NOT_FOUND, "Not found",
        "No distribution run with this id in the project";
    NotFound => "not_found", NOT_FOUND, "Not found",
        "No such route";
    MethodNotAllowed => "method_not_allowed", METHOD_NOT_ALLOWED, "Method not allowed",
        "The path exists, but not with this method";
    AccountExists => "account_exists", CONFLICT, "Account exists",
        "An account with this name already exists in the project";
    AlreadyReversed => "already_reversed", CONFLICT, "Already reversed",
        "The transaction has already been reversed (a transaction is reversed once)";
    EmailTaken => "email_taken", CONFLICT, "Email taken",
        "Another agent already has this email (whatever its case)";
    MemberExists => "member_exists", CONFLICT, "Already a member",
        "The agent is already a member of the project; change their role with `PATCH`";
    InvitationExists => "invitation_exists", CONFLICT, "Already invited",
        "The agent already has a pending invitation to the project";
    TokenNotRevocable => "token_not_revocable", UNPROCESSABLE_ENTITY, "Token not revocable",
        "Signing out (`DELETE /v1/auth/token`) a token without an id (`jti`): an external provider's token (revoked at the provider) or one issued before tokens had ids (it expires on its own)";
    LastOwner => "last_owner", CONFLICT, "Last owner",
        "The change would leave the project without an owner";
    RateExists => "rate_exists", CONFLICT, "Rate exists",
        "A rate of the same scope (kind, `per`, skill, equipment, agent) already starts on this date; rates are never edited, add one from another date";
    AlreadyDecided => "already_decided", CONFLICT, "Already decided",
        "Four eyes: the pending payout is already approved (posted) or rejected, or the expense claim already approved or rejected; a decision is final";
    ContributionDecided => "contribution_decided", CONFLICT, "Contribution decided",
        "The contribution is already approved or rejected; a decision is final";
    AlreadyReviewed => "already_reviewed", CONFLICT, "Already reviewed",
        "The caller has already reviewed this contribution (approvals come from distinct reviewers)";
    AlreadyCorrected => "already_corrected", CONFLICT, "Already corrected",
        "The contribution already has a pending or approved correction";
    DuplicateReference => "duplicate_reference", CONFLICT, "Duplicate reference",
        "A grant with this reference is already recorded in the project (a reversed one included), or a restricted grant's pool `pool:grant:<reference>` already exists";
    AccountConflict => "account_conflict", CONFLICT, "Account conflict",
        "An operation would use a managed account (`pool:`, `funder:`, `contributor:`, `expense:`, `payout:`, `exchange:`) that already exists with other flags than it needs (a pool or contributor account that may go below zero, a funder or exchange account that may not), or in another currency than its name fixes (`pool:general`, `pool:general:<code>`, `exchange:<code>`); such an account is never adopted, nothing was recorded";
    CategoryExists => "category_exists", CONFLICT, "Category exists",
        "An expense category with this name already exists in the project";
    DistributionState => "distribution_state", CONFLICT, "Wrong state",
        "The distribution run's status does not allow this: approving a run that is not a draft, executing one that is not approved (or one that pays nobody), cancelling an executed or cancelled one";
    AlreadyApproved => "already_approved", CONFLICT, "Already approved",
        "The caller has already approved this distribution run (approvals come from distinct approvers)";
    ChangedDuringComputation => "changed_during_computation", CONFLICT, "Changed during computation",
        "A distribution draft or a CSV import was computed outside the writer, and what it read (decisions, corrections, rates, members, settings, the pool's balance) changed before its result could be written, three times over; nothing was recorded and nothing is stored under the `Idempotency-Key`; send it again";
    IdempotencyRequestInFlight => "idempotency_request_in_flight", CONFLICT, "Request in flight",
        "A claim of this `Idempotency-Key` left unanswered by a crash of an earlier release, within its lease; retry after `--idempotency-lease-s`";
    BodyTooLarge => "body_too_large", PAYLOAD_TOO_LARGE, "Body too large",
        "The body exceeds `--body-limit-bytes`";
    UnsupportedMediaType => "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE, "Unsupported media type",
        "A non-empty body is not `application/json` (or `+json`); an import's is not `text/csv`";
    InvalidBody => "invalid_body", UNPROCESSABLE_ENTITY, "Invalid request body",
        "Valid JSON of the wrong shape: a missing or unknown field, a wrong type, an unknown `kind`, `role`, `unit`, `per`, `decision` or `licence_policy` (a grant's `kind` is `grant` or `donation`), an unknown rule set `type` or a number where a rule set expects a decimal string";
    ValidationFailed => "validation_failed", UNPROCESSABLE_ENTITY, "Invalid request",
        "Several fields are invalid for different reasons; see `errors`";
    UnknownAgent => "unknown_agent", UNPROCESSABLE_ENTITY, "Unknown agent",
        "`add_member`, `create_invitation`, a rate's `agent` scope, the `agent` a contribution is logged for, a grant's `funder` or a payout's `agent` names an agent that does not exist; an imported row's `agent` names no member of the project (whether or not the instance knows the email)";
    BatchItemRefused => "batch_item_refused", UNPROCESSABLE_ENTITY, "A transaction of the batch was refused",
        "A transaction of an atomic batch (`POST .../transactions/batch` with `\"atomic\": true`) was refused: the `detail` names its index and its own code, `errors` its fields (`transactions[<index>].<field>`); nothing of the batch was written";
    ArithmeticOverflow => "arithmetic_overflow", UNPROCESSABLE_ENTITY, "Arithmetic overflow",
        "A computation on figures within the limits still passes exact integer arithmetic: a distribution draft whose share (step amount × a contributor's weighted value) passes 128 bits, or whose contributor's value of one kind in the period passes 64 bits, or a rule set stored before the limits with an amount beyond 64-bit minor units; the `detail` names what overflowed; nothing is stored";
    UnknownAccount => "unknown_account", UNPROCESSABLE_ENTITY, "Unknown account",
        "A posting names an account that does not exist in the project; also a distribution draft's `pool`";
    CurrencyMismatch => "currency_mismatch", UNPROCESSABLE_ENTITY, "Currency mismatch",
        "A posting's unit differs from an account's unit; also an expense in another currency than the grant's pool it is paid from, a managed account (`funder:`, `expense:`, `payout:`, `contributor:`) already in another currency, or a distribution run paying an account of another currency than its pool";
    SameAccount => "same_account", UNPROCESSABLE_ENTITY, "Posting to the same account",
        "A posting moves money from an account to itself";
    InsufficientFunds => "insufficient_funds", UNPROCESSABLE_ENTITY, "Insufficient funds",
        "The posting would take a non-negative account below zero: an expense larger than its pool holds, a payout larger than what is owed, an exchange selling more than the pool holds, a distribution run executed from a pool that no longer holds it; also a distribution draft larger than its pool holds. Money an approved distribution run reserves in its pool is not available: a draft, an approval, an expense, a release, an exchange, a transfer or a reversal that would use it is refused, and the detail names the balance, what is reserved and what is available";
    AlreadyAllocated => "already_allocated", CONFLICT, "Already allocated",
        "The contribution's in-kind value already counts toward a grant's match (the detail names it): a contribution counts toward one grant only";
    ClosingNotForward => "closing_not_forward", UNPROCESSABLE_ENTITY, "Closing not forward",
        "A closing through a date on or before the one the books are already closed through: a closing only moves forward";
    ClosingNotPast => "closing_not_past", UNPROCESSABLE_ENTITY, "Closing not past",
        "A closing through today or a later date: only past days are closed";
    PeriodClosed => "period_closed", UNPROCESSABLE_ENTITY, "Period closed",
        "Dated on or before the project's closing (`POST .../closings`): nothing is posted, recorded, reviewed into value, reversed or distributed into a closed period; the detail names the date the books are closed through; post a correction in the open period";
    DateOutOfRange => "date_out_of_range", UNPROCESSABLE_ENTITY, "Date out of range",
        "An effective date (of a posting or a contribution) before 1900-01-01 or more than a year (366 days) after today";
    BalanceOverflow => "balance_overflow", UNPROCESSABLE_ENTITY, "Balance overflow",
        "A balance would leave the representable range";
    UnbalancedTransaction => "unbalanced_transaction", UNPROCESSABLE_ENTITY, "Unbalanced transaction",
        "What leaves does not equal what arrives in some unit (an internal assertion: postings balance by construction)";
    ReversalNotReversible => "reversal_not_reversible", UNPROCESSABLE_ENTITY, "A reversal cannot be reversed",
        "The transaction is itself a reversal; post a new transaction instead";
    IdempotencyKeyReused => "idempotency_key_reused", UNPROCESSABLE_ENTITY, "Idempotency key reused",
        "The `Idempotency-Key` was used with a different request";
    NoApplicableRate => "no_applicable_rate", UNPROCESSABLE_ENTITY, "No applicable rate",
        "No rate applies to the contribution on its date, and the project does not accept unvalued contributions (`allow_unvalued`)";
    UnknownCategory => "unknown_category", UNPROCESSABLE_ENTITY, "Unknown category",
        "An expense or an expense claim names a category the project has not defined";
    RestrictedPurpose => "restricted_purpose", UNPROCESSABLE_ENTITY, "Restricted purpose",
        "The expense's grant (or the grant an expense claim's approval names) lists eligible categories and the expense's (or claim's) category is not one of them; the detail gives the restriction";
    RestrictedFunds => "restricted_funds", UNPROCESSABLE_ENTITY, "Restricted funds",
        "Money would leave a restricted grant's pool (`pool:grant:<reference>`) by a path that does not know the restriction: a generic transaction (`transfer`, `adjustment`) out of it, or a distribution draft (or execution) from it when the grant is not `distributable`. Restricted money leaves only by an eligible expense, a distribution of a distributable grant, a release or a reversal";
    NotAPool => "not_a_pool", UNPROCESSABLE_ENTITY, "Not a pool",
        "A distribution draft's `pool` is not a pool account (`pool:...`): expense, payout, exchange, funder and contributor accounts are never distributed";
    NotRestricted => "not_restricted", UNPROCESSABLE_ENTITY, "Not restricted",
        "A release of a grant without a restriction (or of a donation): its money is already in the general pool";
    ExchangeFirst => "exchange_first", UNPROCESSABLE_ENTITY, "Exchange first",
        "A distribution from a pool of one currency over contributions valued in another: the money is exchanged into the valuation currency first (`POST .../exchanges`, with `grant` for a restricted grant's money)";
    TooManyAttempts => "too_many_attempts", TOO_MANY_REQUESTS, "Too many attempts",
        "Too many sign-in attempts for this account or from this address; wait `Retry-After` seconds";
    SignInBusy => "sign_in_busy", SERVICE_UNAVAILABLE, "Sign-in busy",
        "Every password hasher is taken and the queue is full, the hash waited its longest, or the instance's sign-ins per minute are used up; nothing was checked; wait `Retry-After` seconds";
    ServiceUnavailable => "service_unavailable", SERVICE_UNAVAILABLE, "Service unavailable",
        "No database connection could be obtained";
    DatabaseBusy => "database_busy", SERVICE_UNAVAILABLE, "Database busy",
        "A write kept colliding with others (serialization failure, deadlock, lock timeout, SQLite busy) through every retry; nothing was written; retry with the same `Idempotency-Key`";
    ReadOnlyInstance => "read_only_instance", SERVICE_UNAVAILABLE, "Read-only instance",
        "This instance serves reads only (`serve --read-only`, over a replica): send writes to an instance over the primary database; nothing was written";
    RequestTimeout => "request_timeout", SERVICE_UNAVAILABLE, "Request timeout",
        "The request ran past `--request-timeout-s`; a write may still have completed: retry it with the same `Idempotency-Key` to learn its outcome";
    InternalError => "internal_error", INTERNAL_SERVER_ERROR, "Internal error",
        "A bug; the cause is logged, never returned";
    ClaimNotFound => "claim_not_found", NOT_FOUND, "Not found",
        "No expense claim with this id in the project";
}

field_codes! {
    AmountMalformed => "amount_malformed", true,
        "Not a plain decimal such as `\"1250.00\"` (no sign, exponent, spaces, separators, leading or trailing `.`)";
    AmountPrecision => "amount_precision", true,
        "More decimals than the unit's scale (`\"1.001\"` EUR, `\"100.0\"` JPY), even if they are zeros";
    AmountNotPositive => "amount_not_positive", true,
        "Zero or negative amount; a distribution of `\"all\"` from an empty pool";
    AmountTooLarge => "amount_too_large", true,
        "More than 10^15 minor units (also a contribution's value), or more than 40 characters";
    UnknownCurrency => "unknown_currency", true,
        "Not an ISO 4217 currency with a minor unit, nor a declared unit (`HOUR`, `DAY`, `ITEM`, `KG`); codes are case-sensitive. A rate's, grant's, expense's, payout's or exchange's currency must be an ISO 4217 currency";
    InvalidAccountName => "invalid_account_name", true,
        "The account name breaks the naming rules (see [the limits](api.md#limits)); also an expense category's name, an eligible category or a payout method that is not one name segment (letters, digits, `.`, `_`, `-`), and a restricted grant's reference that cannot name its pool";
    InvalidDate => "invalid_date", true,
        "A date (`effective_date`, a contribution's `date`, a rate's `effective_from`, a grant's `received_on`, `period_start` or `period_end`, an expense's, payout's or exchange's `date`, a distribution's `period_from` or `period_to`) is not `YYYY-MM-DD` or not in the years 1900 to 2200; a grant's or distribution's period that ends before it starts";
    KindReserved => "kind_reserved", true,
        "The transaction kind is posted only by its own endpoint (only `transfer` and `adjustment` are accepted here)";
    NoPostings => "no_postings", true,
        "A transaction without postings";
    TooManyPostings => "too_many_postings", true,
        "More than 500 postings";
    TooLong => "too_long", true,
        "A text field over its limit (see [the limits](api.md#limits); an id over 36 characters); also a rate's empty `method`, `source`, `skill` or `equipment`, a dataset without a title, a rejection without a reason, and an empty grant reference or restriction, expense supplier or receipt URI, payout reference or exchange source";
    MetadataTooLarge => "metadata_too_large", true,
        "Metadata larger than 8,192 bytes";
    InvalidName => "invalid_name", true,
        "Project or agent name empty or longer than 200 characters";
    InvalidEmail => "invalid_email", true,
        "Not an email address, or a password without an email";
    InvalidPassword => "invalid_password", true,
        "A password shorter than 12 or longer than 1024 characters";
    InvalidAdmin => "invalid_admin", true,
        "Administrator rights for an organisation (administrators are people)";
    InvalidSetting => "invalid_setting", true,
        "A project setting out of range: `approvals_required` or `distribution_approvals_required` outside 1 to 10";
    ManagedAccount => "managed_account", true,
        "`POST .../accounts` asked a managed name (`pool:`, `funder:`, `contributor:`, `expense:`, `payout:`, `exchange:`) with a flag or currency its operations cannot use: `pool:` and `contributor:` accounts are non-negative (leave `non_negative` out and they are), the others are not; `pool:general` holds the project's currency, `pool:general:<code>` and `exchange:<code>` hold `<code>`";
    TooManyCategories => "too_many_categories", true,
        "The project already has 200 expense categories";
    SameCurrency => "same_currency", true,
        "An exchange sells and buys the same currency";
    InvalidRuleSet => "invalid_rule_set", true,
        "A distribution's `rule_set_version` below 1; a rule set breaks a rule: no steps or more than 20, a percentage outside 0 to 100 or with more than 4 decimals, percentages of the total above 100 together, an unknown kind or bad weight, an amount that is not positive, has too many decimals or is above 10^15 minor units, an account that does not exist, a value that is not a plain decimal of at most 40 characters; `errors` lists every field";
    InvalidQuantity => "invalid_quantity", true,
        "A contribution's quantity is not a positive decimal with at most 2 decimals (hours, days) or a whole number (datasets), or is too large; a negative `dataset.size_bytes`";
    InvalidUnit => "invalid_unit", true,
        "The contribution's `unit`, or a rate's `per`, is not one its kind is counted in (`hour` or `day` for time and equipment, `dataset` for data)";
    InvalidScope => "invalid_scope", true,
        "A rate narrowed by `skill` for a kind other than time, or by `equipment` for one other than equipment; equipment use without its item; a data contribution without a dataset, or another kind with one; a correction for another contributor; a donation with a `restriction` or `eligible_categories`; a grant without a restriction asked `\"distributable\": false` (unrestricted money lies in the general pool)";
    InvalidLicence => "invalid_licence", true,
        "`dataset.licence` is not a valid SPDX licence expression";
    LicenceNotOpen => "licence_not_open", true,
        "The project requires open licences and the expression cannot be satisfied with them (NC, ND, not on the list); the field's message says why";
    InvalidCharacter => "invalid_character", true,
        "A text value (or an object key) of a JSON body contains the NUL character (U+0000), which no text field may hold; in a path or query (`%00`) it is 400 `invalid_query`";
    MalformedCsv => "malformed_csv", true,
        "An imported file is not CSV this service can read: a row with another number of fields than the header, a quote left open, text that is not UTF-8";
    UnknownColumn => "unknown_column", true,
        "An import's header names a column this service does not know";
    DuplicateColumn => "duplicate_column", true,
        "An import's header names a column twice";
    MissingColumn => "missing_column", true,
        "An import's header lacks `kind`, `date`, `quantity` or `unit`";
    Required => "required", true,
        "An imported row leaves a required column empty";
    InvalidKind => "invalid_kind", true,
        "An imported row's `kind` is not `time`, `equipment` or `data` (its `unit`: `invalid_unit`)";
    TooManyRows => "too_many_rows", true,
        "An import carries more than 10,000 rows";
    BatchSize => "batch_size", true,
        "A transaction batch with no transaction or more than 1,000";
    EmptyImport => "empty_import", true,
        "An import carries no row";
    UnknownAgent => "unknown_agent", false,
        "An imported row's `agent` names no member of the project (whether or not the instance knows the email)";
    Forbidden => "forbidden", false,
        "An imported row's `agent` is someone the caller may not record contributions for";
    NoApplicableRate => "no_applicable_rate", false,
        "No rate applies to an imported row's contribution on its date, and the project does not accept unvalued contributions";
}

impl std::fmt::Display for FieldCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&crate::domain::AmountError> for FieldCode {
    fn from(error: &crate::domain::AmountError) -> Self {
        use crate::domain::AmountError;
        match error {
            AmountError::Malformed(_) => FieldCode::AmountMalformed,
            AmountError::Precision { .. } => FieldCode::AmountPrecision,
            AmountError::NotPositive(_) => FieldCode::AmountNotPositive,
            AmountError::TooLarge(_) => FieldCode::AmountTooLarge,
        }
    }
}

impl From<&crate::domain::licence::LicenceError> for FieldCode {
    fn from(error: &crate::domain::licence::LicenceError) -> Self {
        use crate::domain::licence::LicenceError;
        match error {
            LicenceError::Invalid(..) => FieldCode::InvalidLicence,
            LicenceError::NotOpen { .. } => FieldCode::LicenceNotOpen,
        }
    }
}

/// What a 404 did not find; each has its own problem code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Project,
    Agent,
    Contribution,
    Grant,
    RuleSet,
    Distribution,
    Member,
    Invitation,
    Account,
    Transaction,
    Payout,
    Expense,
    Release,
    Claim,
}

impl Resource {
    pub fn problem_code(self) -> ProblemCode {
        match self {
            Resource::Project => ProblemCode::ProjectNotFound,
            Resource::Agent => ProblemCode::AgentNotFound,
            Resource::Contribution => ProblemCode::ContributionNotFound,
            Resource::Grant => ProblemCode::GrantNotFound,
            Resource::RuleSet => ProblemCode::RuleSetNotFound,
            Resource::Distribution => ProblemCode::DistributionNotFound,
            Resource::Member => ProblemCode::MemberNotFound,
            Resource::Invitation => ProblemCode::InvitationNotFound,
            Resource::Account => ProblemCode::AccountNotFound,
            Resource::Transaction => ProblemCode::TransactionNotFound,
            Resource::Payout => ProblemCode::PayoutNotFound,
            Resource::Expense => ProblemCode::ExpenseNotFound,
            Resource::Release => ProblemCode::ReleaseNotFound,
            Resource::Claim => ProblemCode::ClaimNotFound,
        }
    }
}

/// The resource's name in a problem's `detail` (`rule set not found`).
impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Resource::Project => "project",
            Resource::Agent => "agent",
            Resource::Contribution => "contribution",
            Resource::Grant => "grant",
            Resource::RuleSet => "rule set",
            Resource::Distribution => "distribution",
            Resource::Member => "member",
            Resource::Invitation => "invitation",
            Resource::Account => "account",
            Resource::Transaction => "transaction",
            Resource::Payout => "payout",
            Resource::Expense => "expense",
            Resource::Release => "release",
            Resource::Claim => "claim",
        })
    }
}

/// `docs/errors.md`: every problem code with its status and meaning, and
/// every field-error code, as this build answers them. A test compares it
/// with the committed file; regenerate it with
/// `cargo run --quiet -- errors > docs/errors.md`.
pub fn errors_markdown() -> String {
    let mut out = String::from(
        "<!-- Generated by `cargo run --quiet -- errors > docs/errors.md` from src/http/codes.rs; do not edit. -->\n\
         # Error codes\n\n\
         Every refusal is an RFC 9457 `application/problem+json` document with `type`\n\
         (`urn:commons-ledger:problem:<code>`), `title`, `status`, `detail` and a stable `code`;\n\
         how errors are shaped, and which headers come with them, is in [api.md](api.md).\n\n\
         ## Problem codes\n\n\
         The `code` of a problem document, with its HTTP status and `title`.\n\n\
         | Code | Status | Title | Meaning |\n\
         |---|---|---|---|\n",
    );
    let mut problems = ProblemCode::ALL.to_vec();
    problems.sort_by_key(|code| code.status());
    for code in problems {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            code.as_str(),
            code.status().as_u16(),
            code.title(),
            code.meaning()
        ));
    }
    out.push_str(
        "\n## Field-error codes\n\n\
         The `code` of each entry of a 422 problem's `errors` (`field`, `code`, `message`, and for\n\
         an uploaded file `row` and `column`). When every entry shares a code marked *yes*, the\n\
         problem's own `code` is that code; otherwise it is `validation_failed`.\n\n\
         | Code | Names the problem | Meaning |\n\
         |---|---|---|\n",
    );
    for code in FieldCode::ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            code.as_str(),
            if code.names_the_problem() {
                "yes"
            } else {
                "no"
            },
            code.meaning()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AmountError;
    use crate::domain::licence::LicenceError;

    #[test]
    fn committed_errors_md_matches_the_code() {
        let committed = include_str!("../../docs/errors.md");
        assert!(
            committed == errors_markdown(),
            "docs/errors.md is stale: regenerate it with `cargo run --quiet -- errors > docs/errors.md`"
        );
    }

    #[test]
    fn domain_errors_keep_their_codes() {
        let amounts = [
            AmountError::Malformed(String::new()),
            AmountError::Precision {
                text: String::new(),
                unit: String::new(),
                scale: 2,
            },
            AmountError::NotPositive(String::new()),
            AmountError::TooLarge(String::new()),
        ];
        for error in &amounts {
            assert_eq!(FieldCode::from(error).as_str(), error.code());
        }
        let licences = [
            LicenceError::Invalid(String::new(), String::new()),
            LicenceError::NotOpen {
                expression: String::new(),
                reason: String::new(),
            },
        ];
        for error in &licences {
            assert_eq!(FieldCode::from(error).as_str(), error.code());
        }
    }

    #[test]
    fn codes_are_unique_snake_case_and_serialize_as_themselves() {
        let mut problems: Vec<&str> = ProblemCode::ALL.iter().map(|c| c.as_str()).collect();
        problems.sort_unstable();
        problems.dedup();
        assert_eq!(
            problems.len(),
            ProblemCode::ALL.len(),
            "a problem code is listed twice"
        );
        for code in FieldCode::ALL {
            assert!(
                code.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code} is not snake_case"
            );
            let json = serde_json::to_value(code).expect("a code serializes");
            assert_eq!(json, serde_json::json!(code.as_str()));
        }
    }
}
