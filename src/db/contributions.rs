//! Contributions, their reviews and the sums behind value accounts.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{contributions, reviews};
use crate::domain::contribution::{ContributionKind, ContributionStatus, Decision, QuantityUnit};

// None is NULL, never DEFAULT (no nullable column has a default), which
// lets SQLite take many rows in one INSERT.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = contributions, treat_none_as_default_value = false)]
pub struct ContributionRow {
    pub id: String,
    pub project_id: String,
    pub agent_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: ContributionKind,
    pub date: NaiveDate,
    pub quantity: i64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub unit: QuantityUnit,
    pub description: String,
    pub skill: Option<String>,
    pub equipment: Option<String>,
    pub dataset_title: Option<String>,
    pub dataset_uri: Option<String>,
    pub dataset_size_bytes: Option<i64>,
    pub dataset_checksum: Option<String>,
    pub licence: Option<String>,
    pub rate_id: Option<String>,
    pub value: Option<i64>,
    pub currency: Option<String>,
    pub supersedes_id: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: ContributionStatus,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
    pub decided_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reviews)]
pub struct ReviewRow {
    pub contribution_id: String,
    pub reviewer_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub decision: Decision,
    pub reason: String,
    pub created_at: NaiveDateTime,
}

/// Filters for listing contributions.
#[derive(Debug, Default, Clone)]
pub struct ContributionFilter {
    pub agent: Option<String>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

pub fn insert(conn: &mut DbConnection, row: &ContributionRow) -> QueryResult<()> {
    diesel::insert_into(contributions::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(())
}

/// Inserts many contributions, a few hundred to a statement.
pub fn insert_all(conn: &mut DbConnection, rows: &[ContributionRow]) -> QueryResult<()> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        // Multi-row inserts are backend-specific in diesel.
        let insert = diesel::insert_into(contributions::table).values(chunk.to_vec());
        match conn {
            DbConnection::Postgresql(pg) => insert.execute(pg)?,
            DbConnection::Sqlite(sqlite) => insert.execute(sqlite)?,
        };
    }
    Ok(())
}

/// Rows per multi-row insert: 24 columns each stay well within SQLite's
/// 32,766 and PostgreSQL's 65,535 bound parameters a statement.
const INSERT_CHUNK: usize = 500;

pub fn find(
    conn: &mut DbConnection,
    project_id: &str,
    id: &str,
) -> QueryResult<Option<ContributionRow>> {
    contributions::table
        .filter(contributions::project_id.eq(project_id))
        .filter(contributions::id.eq(id))
        .select(ContributionRow::as_select())
        .first(conn)
        .optional()
}

/// Corrections of `id` that have not been rejected.
pub fn live_corrections(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<String>> {
    contributions::table
        .filter(contributions::supersedes_id.eq(id))
        .filter(contributions::status.ne("rejected"))
        .select(contributions::id)
        .load(conn)
}

/// A page of contributions by id (recording order).
pub fn list(
    conn: &mut DbConnection,
    project_id: &str,
    filter: &ContributionFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ContributionRow>> {
    let mut query = contributions::table
        .filter(contributions::project_id.eq(project_id.to_owned()))
        .select(ContributionRow::as_select())
        .order(contributions::id)
        .limit(limit)
        .into_boxed();
    if let Some(agent) = &filter.agent {
        query = query.filter(contributions::agent_id.eq(agent.clone()));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(contributions::kind.eq(kind.clone()));
    }
    if let Some(status) = &filter.status {
        query = query.filter(contributions::status.eq(status.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(contributions::date.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(contributions::date.le(to));
    }
    if let Some(after) = after {
        query = query.filter(contributions::id.gt(after.to_owned()));
    }
    query.load(conn)
}

/// Every contribution of one agent in one project (a value account's input).
pub fn of_agent(
    conn: &mut DbConnection,
    project_id: &str,
    agent_id: &str,
) -> QueryResult<Vec<ContributionRow>> {
    contributions::table
        .filter(contributions::project_id.eq(project_id))
        .filter(contributions::agent_id.eq(agent_id))
        .select(ContributionRow::as_select())
        .order(contributions::id)
        .load(conn)
}

pub fn reviews_of(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<ReviewRow>> {
    reviews::table
        .filter(reviews::contribution_id.eq_any(ids))
        .select(ReviewRow::as_select())
        .order((reviews::contribution_id, reviews::created_at))
        .load(conn)
}

pub fn insert_review(conn: &mut DbConnection, row: &ReviewRow) -> QueryResult<()> {
    diesel::insert_into(reviews::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(())
}

/// Records the decision on a pending contribution.
pub fn decide(conn: &mut DbConnection, id: &str, status: &str) -> QueryResult<()> {
    diesel::update(contributions::table.find(id))
        .filter(contributions::status.eq("pending"))
        .set((
            contributions::status.eq(status),
            contributions::decided_at.eq(Some(super::now())),
        ))
        .execute(conn)?;
    Ok(())
}

/// Locks a contribution's row on PostgreSQL while it is reviewed, so two
/// concurrent reviews count each other.
pub fn lock(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        contributions::table
            .find(id)
            .select(contributions::id)
            .for_update()
            .first::<String>(pg)
            .optional()?;
    }
    Ok(())
}

/// Approved contributions of a project dated within `[from, to]`.
pub fn approved_between(
    conn: &mut DbConnection,
    project_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<ContributionRow>> {
    contributions::table
        .filter(contributions::project_id.eq(project_id))
        .filter(contributions::status.eq("approved"))
        .filter(contributions::date.ge(from))
        .filter(contributions::date.le(to))
        .select(ContributionRow::as_select())
        .order(contributions::id)
        .load(conn)
}

/// Ids that an approved correction has replaced.
pub fn replaced(conn: &mut DbConnection, project_id: &str) -> QueryResult<Vec<String>> {
    contributions::table
        .filter(contributions::project_id.eq(project_id))
        .filter(contributions::status.eq("approved"))
        .filter(contributions::supersedes_id.is_not_null())
        .select(contributions::supersedes_id.assume_not_null())
        .load(conn)
}
