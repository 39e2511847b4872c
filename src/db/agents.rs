//! Agents (people and organisations) and their credentials.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::agents;
use crate::domain::agent::AgentKind;
use crate::domain::ids::AgentId;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = agents)]
pub struct AgentRow {
    #[diesel(deserialize_as = String)]
    pub id: AgentId,
    #[diesel(deserialize_as = String)]
    pub kind: AgentKind,
    pub name: String,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    #[diesel(deserialize_as = super::StoredFlag)]
    pub is_admin: bool,
    pub token_version: i64,
    pub created_at: NaiveDateTime,
}

/// What a new agent is made of; the id is assigned here.
#[derive(Debug)]
pub struct NewAgent<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub is_admin: bool,
    /// Who recorded it (none for the command line's administrators).
    pub created_by: Option<&'a str>,
}

/// Inserts an agent. A duplicate email is reported as a unique violation.
pub fn insert(conn: &mut DbConnection, new: &NewAgent<'_>) -> QueryResult<AgentRow> {
    let id = uuid::Uuid::now_v7().to_string();
    diesel::insert_into(agents::table)
        .values((
            agents::id.eq(&id),
            agents::kind.eq(new.kind),
            agents::name.eq(new.name),
            agents::email.eq(new.email),
            agents::password_hash.eq(new.password_hash),
            agents::is_admin.eq(i32::from(new.is_admin)),
            agents::token_version.eq(0_i64),
            agents::created_at.eq(super::now()),
            agents::created_by.eq(new.created_by),
        ))
        .execute(conn)?;
    find(conn, &id)?.ok_or(diesel::result::Error::NotFound)
}

/// Inserts `new` unless its email is taken (by a concurrent request too):
/// the agent, or `None`.
pub fn insert_unique(conn: &mut DbConnection, new: &NewAgent<'_>) -> QueryResult<Option<AgentRow>> {
    if let Some(email) = new.email
        && find_by_email(conn, email)?.is_some()
    {
        return Ok(None);
    }
    match insert(conn, new) {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(None),
        other => other.map(Some),
    }
}

row_by_key!(find, agents, AgentRow, id: &str);

/// The agent a token names, and whether the token (by its id, `jti`) has
/// been revoked: one statement, so checking a token costs no more than
/// finding its agent.
pub fn find_signed_in(
    conn: &mut DbConnection,
    id: &str,
    token_id: Option<&str>,
) -> QueryResult<Option<(AgentRow, bool)>> {
    use super::schema::revoked_tokens;
    let Some(token_id) = token_id else {
        return Ok(find(conn, id)?.map(|agent| (agent, false)));
    };
    let revoked = diesel::dsl::exists(revoked_tokens::table.find(token_id.to_owned()));
    agents::table
        .find(id)
        .select((AgentRow::as_select(), revoked))
        .first(conn)
        .optional()
}

/// Revokes the token `token_id` of `agent_id` until it expires, and
/// forgets the revocations of tokens that have expired since.
pub fn revoke_token(
    conn: &mut DbConnection,
    agent_id: &str,
    token_id: &str,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    use super::schema::revoked_tokens;
    diesel::delete(revoked_tokens::table.filter(revoked_tokens::expires_at.lt(super::now())))
        .execute(conn)?;
    diesel::sql_query(
        "INSERT INTO revoked_tokens (id, agent_id, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind::<diesel::sql_types::Text, _>(token_id)
    .bind::<diesel::sql_types::Text, _>(agent_id)
    .bind::<diesel::sql_types::Timestamp, _>(expires_at)
    .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Visible {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    visible: bool,
}

/// Whether `viewer` (not an administrator) may read `agent_id`: themself,
/// an agent they recorded, a member of one of their projects, or an agent
/// one of their projects names (a grant's funder, a contributor). Anyone
/// else is unknown to them: a public project publishes agent ids, and an id
/// must not be a way to a name the project keeps hidden.
pub fn visible_to(conn: &mut DbConnection, agent_id: &str, viewer: &str) -> QueryResult<bool> {
    diesel::sql_query(
        "SELECT (EXISTS (SELECT 1 FROM agents WHERE id = $1 AND (id = $2 OR created_by = $2)) \
         OR EXISTS (SELECT 1 FROM memberships mine JOIN memberships theirs \
             ON theirs.project_id = mine.project_id \
             WHERE mine.agent_id = $2 AND theirs.agent_id = $1) \
         OR EXISTS (SELECT 1 FROM memberships mine JOIN grants ON grants.project_id = mine.project_id \
             WHERE mine.agent_id = $2 AND grants.funder_id = $1) \
         OR EXISTS (SELECT 1 FROM memberships mine JOIN contributions \
             ON contributions.project_id = mine.project_id \
             WHERE mine.agent_id = $2 AND contributions.agent_id = $1)) AS visible",
    )
    .bind::<diesel::sql_types::Text, _>(agent_id)
    .bind::<diesel::sql_types::Text, _>(viewer)
    .get_result::<Visible>(conn)
    .map(|row| row.visible)
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<AgentRow>> {
    agents::table
        .filter(agents::email.eq(email))
        .select(AgentRow::as_select())
        .first(conn)
        .optional()
}

/// The names of the agents `ids`, as (id, name) pairs.
pub fn names(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    agents::table
        .filter(agents::id.eq_any(ids))
        .select((agents::id, agents::name))
        .load(conn)
}

/// Which agents a listing may show.
#[derive(Debug, Clone)]
pub enum Listing {
    /// Every agent (instance administrators).
    All,
    /// The agent themself and every member of a project they are a member of.
    SharingAProjectWith(String),
}

/// Agents ordered by id, after `after` if given.
pub fn list(
    conn: &mut DbConnection,
    listing: &Listing,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<AgentRow>> {
    use super::schema::memberships;
    let mut query = agents::table
        .select(AgentRow::as_select())
        .order(agents::id)
        .limit(limit)
        .into_boxed();
    if let Listing::SharingAProjectWith(agent_id) = listing {
        let (theirs, mine) = diesel::alias!(memberships as theirs, memberships as mine);
        let my_projects = mine
            .filter(mine.field(memberships::agent_id).eq(agent_id.clone()))
            .select(mine.field(memberships::project_id));
        let co_members = theirs
            .filter(theirs.field(memberships::project_id).eq_any(my_projects))
            .select(theirs.field(memberships::agent_id));
        query = query.filter(
            agents::id
                .eq(agent_id.clone())
                .or(agents::id.eq_any(co_members)),
        );
    }
    if let Some(after) = after {
        query = query.filter(agents::id.gt(after.to_owned()));
    }
    query.load(conn)
}
