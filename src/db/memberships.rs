//! Who belongs to which project, in which role.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{agents, memberships};
use crate::domain::access::Role;
use crate::domain::project::Project;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = memberships)]
pub struct MembershipRow {
    pub project_id: String,
    pub agent_id: String,
    #[diesel(deserialize_as = String)]
    pub role: Role,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

row_by_key!(
    find,
    memberships,
    MembershipRow,
    project_id: &str,
    agent_id: &str
);

pub fn insert(
    conn: &mut DbConnection,
    project_id: &str,
    agent_id: &str,
    role: Role,
) -> QueryResult<MembershipRow> {
    let now = super::now();
    diesel::insert_into(memberships::table)
        .values((
            memberships::project_id.eq(project_id),
            memberships::agent_id.eq(agent_id),
            memberships::role.eq(role.as_str()),
            memberships::created_at.eq(now),
            memberships::updated_at.eq(now),
        ))
        .execute(conn)?;
    find(conn, project_id, agent_id)?.ok_or(diesel::result::Error::NotFound)
}

pub fn update_role(
    conn: &mut DbConnection,
    project_id: &str,
    agent_id: &str,
    role: Role,
) -> QueryResult<MembershipRow> {
    diesel::update(memberships::table.find((project_id, agent_id)))
        .set((
            memberships::role.eq(role.as_str()),
            memberships::updated_at.eq(super::now()),
        ))
        .execute(conn)?;
    find(conn, project_id, agent_id)?.ok_or(diesel::result::Error::NotFound)
}

pub fn delete(conn: &mut DbConnection, project_id: &str, agent_id: &str) -> QueryResult<()> {
    diesel::delete(memberships::table.find((project_id, agent_id))).execute(conn)?;
    Ok(())
}

/// Members of a project with their agents' names, ordered by agent id.
pub fn list(
    conn: &mut DbConnection,
    project_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(MembershipRow, String, String)>> {
    let query = memberships::table
        .inner_join(agents::table)
        .filter(memberships::project_id.eq(project_id.to_owned()))
        .select((MembershipRow::as_select(), agents::name, agents::kind));
    keyset_page!(conn, query, memberships::agent_id, after, limit)
}

/// Every membership of one agent.
pub fn of_agent(conn: &mut DbConnection, agent_id: &str) -> QueryResult<Vec<MembershipRow>> {
    memberships::table
        .filter(memberships::agent_id.eq(agent_id))
        .select(MembershipRow::as_select())
        .order(memberships::project_id)
        .load(conn)
}

/// The agent's memberships, each with its project (which a membership
/// always has: the foreign key keeps it), by project id.
pub fn with_projects(
    conn: &mut DbConnection,
    agent_id: &str,
) -> QueryResult<Vec<(MembershipRow, Project)>> {
    let mut projects = Vec::new();
    for row in of_agent(conn, agent_id)? {
        let project =
            super::projects::find(conn, &row.project_id)?.ok_or(diesel::result::Error::NotFound)?;
        projects.push((row, project));
    }
    Ok(projects)
}

/// How many owners a project has.
pub fn owner_count(conn: &mut DbConnection, project_id: &str) -> QueryResult<i64> {
    memberships::table
        .filter(memberships::project_id.eq(project_id))
        .filter(memberships::role.eq(Role::Owner.as_str()))
        .count()
        .get_result(conn)
}

/// Project ids the agent belongs to.
pub fn project_ids(conn: &mut DbConnection, agent_id: &str) -> QueryResult<Vec<String>> {
    memberships::table
        .filter(memberships::agent_id.eq(agent_id))
        .select(memberships::project_id)
        .load(conn)
}
