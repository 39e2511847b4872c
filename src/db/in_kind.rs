//! Allocations of contributions' in-kind value to grants: each contribution
//! counts toward at most one grant's match.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::in_kind_allocations;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = in_kind_allocations)]
pub struct AllocationRow {
    pub contribution_id: String,
    pub grant_id: String,
    pub project_id: String,
    pub allocated_by: String,
    pub allocated_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &AllocationRow) -> QueryResult<()> {
    diesel::insert_into(in_kind_allocations::table)
        .values(row.clone())
        .execute(conn)
        .map(drop)
}

/// The allocation of a contribution, if it has one.
pub fn of(conn: &mut DbConnection, contribution_id: &str) -> QueryResult<Option<AllocationRow>> {
    in_kind_allocations::table
        .find(contribution_id)
        .select(AllocationRow::as_select())
        .first(conn)
        .optional()
}

/// The grant each allocated contribution of a project counts toward.
pub fn grants_by_contribution(
    conn: &mut DbConnection,
    project_id: &str,
) -> QueryResult<HashMap<String, String>> {
    Ok(in_kind_allocations::table
        .filter(in_kind_allocations::project_id.eq(project_id))
        .select((
            in_kind_allocations::contribution_id,
            in_kind_allocations::grant_id,
        ))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// The grant each of `contribution_ids` counts toward, for those allocated.
pub fn grants_of(
    conn: &mut DbConnection,
    contribution_ids: &[String],
) -> QueryResult<HashMap<String, String>> {
    Ok(in_kind_allocations::table
        .filter(in_kind_allocations::contribution_id.eq_any(contribution_ids))
        .select((
            in_kind_allocations::contribution_id,
            in_kind_allocations::grant_id,
        ))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

project_page!(
    /// A page of a grant's allocations, by contribution id (time-ordered).
    list_for_grant,
    in_kind_allocations,
    AllocationRow,
    by contribution_id,
    grant_id: &str => grant_id
);
