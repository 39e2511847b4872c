//! Request and response types that several resources share: the paging
//! query, the kinds, units, statuses and roles as they appear on the wire,
//! and the rate (shown on its own and inside a contribution's valuation).
//! Each resource's own types stay in its module.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db;
use crate::db::rates::RateRow;
use crate::domain::access::Role;
use crate::domain::contribution::{ContributionKind, ContributionStatus, QuantityUnit};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Cursor from the previous page's `next_cursor`.
    #[param(min_length = 1)]
    pub cursor: Option<String>,
}

/// What was contributed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContributionKindDto {
    Time,
    Equipment,
    Data,
}

impl From<ContributionKindDto> for ContributionKind {
    fn from(kind: ContributionKindDto) -> Self {
        match kind {
            ContributionKindDto::Time => ContributionKind::Time,
            ContributionKindDto::Equipment => ContributionKind::Equipment,
            ContributionKindDto::Data => ContributionKind::Data,
        }
    }
}

impl From<ContributionKind> for ContributionKindDto {
    fn from(kind: ContributionKind) -> Self {
        match kind {
            ContributionKind::Time => ContributionKindDto::Time,
            ContributionKind::Equipment => ContributionKindDto::Equipment,
            ContributionKind::Data => ContributionKindDto::Data,
        }
    }
}

/// What a quantity counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuantityUnitDto {
    Hour,
    Day,
    Dataset,
}

impl From<QuantityUnitDto> for QuantityUnit {
    fn from(unit: QuantityUnitDto) -> Self {
        match unit {
            QuantityUnitDto::Hour => QuantityUnit::Hour,
            QuantityUnitDto::Day => QuantityUnit::Day,
            QuantityUnitDto::Dataset => QuantityUnit::Dataset,
        }
    }
}

impl From<QuantityUnit> for QuantityUnitDto {
    fn from(unit: QuantityUnit) -> Self {
        match unit {
            QuantityUnit::Hour => QuantityUnitDto::Hour,
            QuantityUnit::Day => QuantityUnitDto::Day,
            QuantityUnit::Dataset => QuantityUnitDto::Dataset,
        }
    }
}

/// Where a contribution stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContributionStatusDto {
    Pending,
    Approved,
    Rejected,
}

impl From<ContributionStatus> for ContributionStatusDto {
    fn from(status: ContributionStatus) -> Self {
        match status {
            ContributionStatus::Pending => ContributionStatusDto::Pending,
            ContributionStatus::Approved => ContributionStatusDto::Approved,
            ContributionStatus::Rejected => ContributionStatusDto::Rejected,
        }
    }
}

/// A member's role in a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleDto {
    Owner,
    Treasurer,
    Contributor,
    Auditor,
}

impl From<RoleDto> for Role {
    fn from(role: RoleDto) -> Self {
        match role {
            RoleDto::Owner => Role::Owner,
            RoleDto::Treasurer => Role::Treasurer,
            RoleDto::Contributor => Role::Contributor,
            RoleDto::Auditor => Role::Auditor,
        }
    }
}

impl From<Role> for RoleDto {
    fn from(role: Role) -> Self {
        match role {
            Role::Owner => RoleDto::Owner,
            Role::Treasurer => RoleDto::Treasurer,
            Role::Contributor => RoleDto::Contributor,
            Role::Auditor => RoleDto::Auditor,
        }
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

/// The response shape of a rate.
pub fn to_rate(
    units: &std::collections::HashMap<String, crate::domain::Unit>,
    row: RateRow,
) -> Rate {
    Rate {
        kind: ContributionKind::parse(&row.kind)
            .map_or(ContributionKindDto::Time, ContributionKindDto::from),
        skill: non_empty(&row.skill),
        equipment: non_empty(&row.equipment),
        agent: non_empty(&row.agent_id),
        per: QuantityUnit::parse(&row.per).map_or(QuantityUnitDto::Hour, QuantityUnitDto::from),
        effective_from: row.effective_from.to_string(),
        rate: super::format_minor(units, &row.currency, row.rate),
        created_at: db::format_timestamp(row.created_at),
        id: row.id,
        currency: row.currency,
        method: row.method,
        source: row.source,
    }
}
