//! Invitations to join a project, pending until the invited agent accepts
//! or declines them (or an owner withdraws them).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{invitations, projects};
use crate::domain::access::Role;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invitations)]
pub struct InvitationRow {
    pub id: String,
    pub project_id: String,
    pub agent_id: String,
    #[diesel(deserialize_as = String)]
    pub role: Role,
    pub invited_by: String,
    pub created_at: NaiveDateTime,
}

/// Records an invitation; the id is assigned here. A second pending
/// invitation of the same agent to the same project is a unique violation.
pub fn insert(
    conn: &mut DbConnection,
    project_id: &str,
    agent_id: &str,
    role: Role,
    invited_by: &str,
) -> QueryResult<InvitationRow> {
    let id = uuid::Uuid::now_v7().to_string();
    diesel::insert_into(invitations::table)
        .values((
            invitations::id.eq(&id),
            invitations::project_id.eq(project_id),
            invitations::agent_id.eq(agent_id),
            invitations::role.eq(role.as_str()),
            invitations::invited_by.eq(invited_by),
            invitations::created_at.eq(super::now()),
        ))
        .execute(conn)?;
    find(conn, &id)?.ok_or(diesel::result::Error::NotFound)
}

row_by_key!(find, invitations, InvitationRow, id: &str);

project_row!(
    /// The pending invitation of `agent_id` to `project_id`, if any.
    find_for,
    invitations,
    InvitationRow,
    agent_id
);

project_page!(
    /// A project's pending invitations, ordered by id, after `after` if given.
    of_project,
    invitations,
    InvitationRow
);

/// An agent's pending invitations with their projects' names, ordered by
/// id, after `after` if given.
pub fn of_agent(
    conn: &mut DbConnection,
    agent_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(InvitationRow, String)>> {
    let query = invitations::table
        .inner_join(projects::table)
        .filter(invitations::agent_id.eq(agent_id.to_owned()))
        .select((InvitationRow::as_select(), projects::name));
    keyset_page!(conn, query, invitations::id, after, limit)
}

/// Removes an invitation (accepted, declined or withdrawn).
pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::delete(invitations::table.find(id)).execute(conn)?;
    Ok(())
}
