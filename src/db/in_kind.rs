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

insert_row!(owned insert, in_kind_allocations, AllocationRow);

row_by_key!(
    /// The allocation of a contribution, if it has one.
    of,
    in_kind_allocations,
    AllocationRow,
    contribution_id: &str
);

/// The grant each allocated contribution of a project counts toward.
pub fn grants_by_contribution(
    conn: &mut DbConnection,
    project_id: &str,
) -> QueryResult<HashMap<String, String>> {
    grant_map(conn, Allocated::OfProject(project_id))
}

/// The grant each of `contribution_ids` counts toward, for those allocated.
pub fn grants_of(
    conn: &mut DbConnection,
    contribution_ids: &[String],
) -> QueryResult<HashMap<String, String>> {
    grant_map(conn, Allocated::Among(contribution_ids))
}

/// Which allocations `grant_map` reads.
enum Allocated<'a> {
    /// Every allocation of the project.
    OfProject(&'a str),
    /// Those of the given contributions.
    Among(&'a [String]),
}

/// The grant of each contribution of the `allocated` allocations, by
/// contribution id: the one query behind `grants_by_contribution` and
/// `grants_of`.
fn grant_map(
    conn: &mut DbConnection,
    allocated: Allocated<'_>,
) -> QueryResult<HashMap<String, String>> {
    let query = in_kind_allocations::table
        .select((
            in_kind_allocations::contribution_id,
            in_kind_allocations::grant_id,
        ))
        .into_boxed();
    let query = match allocated {
        Allocated::OfProject(project_id) => {
            query.filter(in_kind_allocations::project_id.eq(project_id))
        }
        Allocated::Among(ids) => query.filter(in_kind_allocations::contribution_id.eq_any(ids)),
    };
    Ok(query.load::<(String, String)>(conn)?.into_iter().collect())
}

project_page!(
    /// A page of a grant's allocations, by contribution id (time-ordered).
    list_for_grant,
    in_kind_allocations,
    AllocationRow,
    by contribution_id,
    grant_id: &str => grant_id
);
