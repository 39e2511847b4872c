//! A project as the rest of the service sees it: its settings typed (flags
//! as booleans, the licence policy as an enum), read from storage once.

use chrono::NaiveDateTime;

use super::ids::ProjectId;
use super::licence::LicencePolicy;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    /// The project's currency code (its managed accounts' default).
    pub currency: String,
    /// Whether anyone, signed in or not, may read its books.
    pub public: bool,
    pub created_at: NaiveDateTime,
    /// The head of the project's hash chain: the last transaction's
    /// sequence and hash.
    pub last_sequence: i64,
    pub last_hash: String,
    pub licence_policy: LicencePolicy,
    /// Whether a contribution with no applicable rate is accepted unvalued.
    pub allow_unvalued: bool,
    /// Reviews a contribution needs before it is approved (1 to 10).
    pub approvals_required: i32,
    /// Approvals a distribution run needs before it is executed (1 to 10).
    pub distribution_approvals_required: i32,
    /// Four eyes on large sums: an expense or a payout above this many
    /// minor units of the project's currency waits for a second person.
    pub four_eyes_above: Option<i64>,
    /// The books are closed through this date (`POST .../closings`):
    /// nothing dated on or before it is posted, recorded or reviewed.
    pub closed_through: Option<chrono::NaiveDate>,
}
