//! Request and response types that several resources share: the paging
//! query, the kinds, units, statuses and roles as they appear on the wire,
//! the rate (shown on its own and inside a contribution's valuation), the
//! transaction (posted by several resources) and the agent (also `/v1/me`).
//! Each resource's own types stay in its module.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::access::Caller;
use crate::db;
use crate::db::DbConnection;
use crate::db::agents::AgentRow;
use crate::db::memberships::MembershipRow;
use crate::db::rates::RateRow;
use crate::db::transactions::TransactionRecord;
use crate::domain::access::Role;
use crate::domain::agent::AgentKind;
use crate::domain::contribution::{ContributionKind, ContributionStatus, QuantityUnit};
use crate::domain::{TransactionKind, Unit};
use crate::http::problem::ApiError;

pub use crate::http::call::PageQuery;

/// The wire form `$dto` of the domain enum `$domain`, variant for variant:
/// declared `snake_case` with its schema, and converted `into` the domain
/// (a request's), `from` it (a response's) or both (`to_and_from`), one
/// arm a variant, so a variant added to one side and not the other fails
/// to compile.
macro_rules! wire_enum {
    ($(#[$attr:meta])* pub enum $dto:ident: to_and_from $domain:ident { $($variant:ident,)+ }) => {
        wire_enum!($(#[$attr])* pub enum $dto: into $domain { $($variant,)+ });
        wire_enum!(@from $dto $domain $($variant)+);
    };
    ($(#[$attr:meta])* pub enum $dto:ident: from $domain:ident { $($variant:ident,)+ }) => {
        wire_enum!(@declare $(#[$attr])* $dto $($variant)+);
        wire_enum!(@from $dto $domain $($variant)+);
    };
    ($(#[$attr:meta])* pub enum $dto:ident: into $domain:ident { $($variant:ident,)+ }) => {
        wire_enum!(@declare $(#[$attr])* $dto $($variant)+);
        impl From<$dto> for $domain {
            fn from(value: $dto) -> Self {
                match value {
                    $($dto::$variant => $domain::$variant,)+
                }
            }
        }
    };
    (@declare $(#[$attr:meta])* $dto:ident $($variant:ident)+) => {
        $(#[$attr])*
        #[serde(rename_all = "snake_case")]
        pub enum $dto {
            $($variant,)+
        }
    };
    (@from $dto:ident $domain:ident $($variant:ident)+) => {
        impl From<$domain> for $dto {
            fn from(value: $domain) -> Self {
                match value {
                    $($domain::$variant => $dto::$variant,)+
                }
            }
        }
    };
}

/// A page of `$item`s as every list returns it: the items, oldest first, and
/// the cursor of the next page. `page_type!(PayoutPage, Payout)` declares the
/// response type `PayoutPage`; a third argument documents `next_cursor`.
macro_rules! page_type {
    ($page:ident, $item:ident) => {
        #[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub struct $page {
            pub items: Vec<$item>,
            pub next_cursor: Option<String>,
        }
        $crate::routes::dto::page_type!(@from $page, $item);
    };
    ($page:ident, $item:ident, $cursor_doc:tt) => {
        #[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub struct $page {
            pub items: Vec<$item>,
            #[doc = $cursor_doc]
            pub next_cursor: Option<String>,
        }
        $crate::routes::dto::page_type!(@from $page, $item);
    };
    // A page read is the response as it is.
    (@from $page:ident, $item:ident) => {
        impl From<$crate::http::call::Page<$item>> for $page {
            fn from(page: $crate::http::call::Page<$item>) -> Self {
                $page {
                    items: page.rows,
                    next_cursor: page.next_cursor,
                }
            }
        }
    };
}
pub(crate) use page_type;

wire_enum! {
    /// What was contributed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum ContributionKindDto: to_and_from ContributionKind {
        Time,
        Equipment,
        Data,
    }
}

wire_enum! {
    /// What a quantity counts.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum QuantityUnitDto: to_and_from QuantityUnit {
        Hour,
        Day,
        Dataset,
    }
}

wire_enum! {
    /// Where a contribution stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum ContributionStatusDto: from ContributionStatus {
        Pending,
        Approved,
        Rejected,
    }
}

wire_enum! {
    /// A member's role in a project.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum RoleDto: to_and_from Role {
        Owner,
        Treasurer,
        Contributor,
        Auditor,
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Rate {
    #[schema(format = Uuid)]
    pub id: String,
    pub kind: ContributionKindDto,
    pub skill: Option<String>,
    pub equipment: Option<String>,
    #[schema(format = Uuid)]
    pub agent: Option<String>,
    pub per: QuantityUnitDto,
    #[schema(format = Date)]
    pub effective_from: String,
    pub rate: String,
    pub currency: String,
    pub method: String,
    pub source: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

fn non_empty(text: &str) -> Option<String> {
    Some(text.to_owned()).filter(|t| !t.is_empty())
}

/// The response shape of a rate (its kind and unit were typed as storage
/// read them: a value the service never writes is a logged 500 there).
pub fn to_rate(units: &HashMap<String, Unit>, row: RateRow) -> Result<Rate, ApiError> {
    let (kind, per) = (row.kind, row.per);
    Ok(Rate {
        kind: kind.into(),
        skill: non_empty(&row.skill),
        equipment: non_empty(&row.equipment),
        agent: non_empty(&row.agent_id),
        per: per.into(),
        effective_from: row.effective_from.to_string(),
        rate: super::format_minor(units, &row.currency, row.rate),
        created_at: db::format_timestamp(row.created_at),
        id: row.id,
        currency: row.currency,
        method: row.method,
        source: row.source,
    })
}

wire_enum! {
    /// What a transaction records.
    #[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
    pub enum TransactionKindDto: to_and_from TransactionKind {
        Transfer,
        Adjustment,
        Grant,
        Donation,
        Expense,
        Distribution,
        Payout,
        Exchange,
        Reversal,
        Release,
    }
}

/// One movement of an amount from one account to another.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Posting {
    /// Account the amount leaves.
    #[schema(example = "funder:fondation-horizon", max_length = 200)]
    pub from: String,
    /// Account the amount arrives in.
    #[schema(example = "pool:general", max_length = 200)]
    pub to: String,
    /// Positive decimal string with at most the unit's decimals, at most
    /// 10^15 minor units (10,000,000,000,000.00 EUR; 10^15 JPY) and 40 characters.
    #[schema(example = "100.00", pattern = r"^[0-9]+(\.[0-9]+)?$", max_length = 40)]
    pub amount: String,
    /// Unit of the amount; both accounts must hold it.
    #[schema(example = "EUR", max_length = 8)]
    pub currency: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Transaction {
    #[schema(format = Uuid)]
    pub id: String,
    /// Position in the project's ledger, from 1.
    pub sequence: i64,
    pub kind: TransactionKindDto,
    #[schema(format = Date)]
    pub effective_date: String,
    /// When the server recorded it (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub recorded_at: String,
    /// The agent whose request posted it (its hash covers it); null only
    /// for transactions posted before the service recorded it.
    #[schema(format = Uuid)]
    pub recorded_by: Option<String>,
    pub description: String,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    pub postings: Vec<Posting>,
    /// SHA-256 over the canonical content and the previous hash.
    pub hash: String,
    pub previous_hash: String,
    /// The transaction this one reverses.
    #[schema(format = Uuid)]
    pub reverses: Option<String>,
    /// The reversal that undid this transaction.
    #[schema(format = Uuid)]
    pub reversed_by: Option<String>,
}

/// The response shape of a stored transaction.
pub fn to_transaction(units: &HashMap<String, Unit>, record: TransactionRecord) -> Transaction {
    let row = record.row;
    Transaction {
        kind: TransactionKindDto::from(record.kind),
        effective_date: row.effective_date.to_string(),
        recorded_at: db::format_timestamp(row.recorded_at),
        recorded_by: row.recorded_by,
        metadata: record.metadata,
        postings: record
            .postings
            .into_iter()
            .map(|p| Posting {
                amount: super::format_minor(units, &p.currency, p.amount),
                from: p.from,
                to: p.to,
                currency: p.currency,
            })
            .collect(),
        id: row.id,
        sequence: row.sequence,
        description: row.description,
        hash: row.hash,
        previous_hash: row.previous_hash,
        reverses: row.reverses_id,
        reversed_by: record.reversed_by,
    }
}

wire_enum! {
    /// Person or organisation.
    #[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
    pub enum AgentKindDto: into AgentKind {
        Person,
        Organisation,
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Agent {
    #[schema(format = Uuid)]
    pub id: String,
    pub kind: AgentKindDto,
    pub name: String,
    /// Shown to administrators and to the agent themself.
    pub email: Option<String>,
    /// Whether the agent can sign in with a password. Shown to
    /// administrators and to the agent themself; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_credentials: Option<bool>,
    /// Whether the agent is an instance administrator. Shown to
    /// administrators and to the agent themself; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<bool>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// The response shape of an agent as `viewer` may see it: the email and
/// the sign-in flags are for administrators and the agent themself, so that
/// nobody learns from the API which accounts are worth attacking.
pub fn to_agent(row: AgentRow, viewer: &Caller) -> Agent {
    let sees_private = viewer.is_admin() || viewer.agent().is_some_and(|me| me.id == row.id);
    Agent {
        kind: match row.kind {
            AgentKind::Organisation => AgentKindDto::Organisation,
            AgentKind::Person => AgentKindDto::Person,
        },
        email: row.email.filter(|_| sees_private),
        has_credentials: sees_private.then_some(row.password_hash.is_some()),
        admin: sees_private.then_some(row.is_admin),
        created_at: db::format_timestamp(row.created_at),
        id: row.id.into_string(),
        name: row.name,
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Member {
    #[schema(format = Uuid)]
    pub agent: String,
    pub name: String,
    pub role: RoleDto,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// The response shape of a membership, with its agent's name.
pub fn to_member(row: MembershipRow, name: String) -> Member {
    Member {
        role: RoleDto::from(row.role),
        agent: row.agent_id,
        name,
        created_at: db::format_timestamp(row.created_at),
        updated_at: db::format_timestamp(row.updated_at),
    }
}

/// A membership as the API shows it, with its agent's name read.
pub fn member_of(conn: &mut DbConnection, row: MembershipRow) -> Result<Member, ApiError> {
    let name = agent_name(conn, &row.agent_id)?;
    Ok(to_member(row, name))
}

pub fn agent_name(conn: &mut DbConnection, agent_id: &str) -> Result<String, ApiError> {
    db::agents::find(conn, agent_id)?
        .map(|a| a.name)
        .ok_or_else(|| ApiError::internal(format!("member {agent_id} has no agent")))
}
