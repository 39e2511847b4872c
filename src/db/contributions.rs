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

insert_row!(owned insert, contributions, ContributionRow);

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

project_row!(find, contributions, ContributionRow, id);

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

/// A page of the agents who have contributed to a project, by id, with
/// their names: `(agent id, name)`. Agents are walked in id order and each
/// is asked for one contribution (`contributions_by_agent`), so a page costs
/// at most one index probe per agent of the instance, however many
/// contributions the project holds.
pub fn contributors(
    conn: &mut DbConnection,
    project_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(String, String)>> {
    use super::schema::agents;
    let contributed = contributions::table
        .filter(contributions::agent_id.eq(agents::id))
        .filter(contributions::project_id.eq(project_id.to_owned()));
    let query = agents::table
        .filter(diesel::dsl::exists(contributed))
        .select((agents::id, agents::name));
    keyset_page!(conn, query, agents::id, after, limit)
}

project_rows!(
    /// Every contribution of one agent in one project (a value account's input).
    of_agent,
    contributions,
    ContributionRow,
    agent_id => agent_id
);

pub fn reviews_of(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<ReviewRow>> {
    reviews::table
        .filter(reviews::contribution_id.eq_any(ids))
        .select(ReviewRow::as_select())
        .order((reviews::contribution_id, reviews::created_at))
        .load(conn)
}

insert_row!(owned insert_review, reviews, ReviewRow);

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
    lock_row!(conn, contributions, id);
    Ok(())
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

/// The approved contributions `c` of a project's period that a
/// distribution counts (`$1` the project, `$2` and `$3` the period's first
/// and last day): valued, and not replaced by an approved correction (which
/// counts instead, if it is itself of the period). On SQLite a `$n` is
/// numbered by its first appearance: these come first, in order.
const COUNTED: &str = "c.project_id = $1 AND c.status = 'approved' AND c.date >= $2 AND c.date <= $3 \
     AND c.value IS NOT NULL \
     AND NOT EXISTS (SELECT 1 FROM contributions r WHERE r.supersedes_id = c.id \
         AND r.project_id = c.project_id AND r.status = 'approved')";

/// The approved value of one contributor, kind and currency over a period,
/// summed by the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovedSum {
    pub agent_id: String,
    pub kind: String,
    pub currency: String,
    /// In minor units: wider than a stored value, which the caller checks.
    pub value: i128,
}

#[derive(QueryableByName)]
struct SumRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    agent_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    currency: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    high: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    low: i64,
}

/// Per contributor, kind and currency, the approved value of the period's
/// counted contributions ([`COUNTED`]): one aggregation in the database,
/// a row per contributor and kind back instead of one per contribution.
/// Exact on both backends whatever the sum: values (never negative) are
/// summed as their high and low 32 bits, which no count of rows a database
/// holds can overflow, and put together here in 128 bits.
pub fn approved_sums(
    conn: &mut DbConnection,
    project_id: &str,
    (from, to): (NaiveDate, NaiveDate),
) -> QueryResult<Vec<ApprovedSum>> {
    let rows: Vec<SumRow> = diesel::sql_query(format!(
        "SELECT c.agent_id AS agent_id, c.kind AS kind, c.currency AS currency, \
         CAST(SUM(c.value / 4294967296) AS BIGINT) AS high, \
         CAST(SUM(c.value % 4294967296) AS BIGINT) AS low \
         FROM contributions c WHERE {COUNTED} GROUP BY c.agent_id, c.kind, c.currency"
    ))
    .bind::<diesel::sql_types::Text, _>(project_id)
    .bind::<diesel::sql_types::Date, _>(from)
    .bind::<diesel::sql_types::Date, _>(to)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| ApprovedSum {
            value: (i128::from(row.high) << 32) + i128::from(row.low),
            agent_id: row.agent_id,
            kind: row.kind,
            currency: row.currency,
        })
        .collect())
}

/// Records which contributions the run `distribution_id` of `project_id`
/// counts, those of [`COUNTED`] valued in the run's `currency`, by one
/// `INSERT ... SELECT` in the database however many they are: the run's
/// selection, numbered (`distribution_selections`), with the numbers of
/// its contributions in ascending order. On PostgreSQL they are one array
/// in the selection's row (`contribution_seqs`), and the run's own row may
/// come later in the same transaction (the key to it is checked at
/// commit). SQLite has no arrays: a row a contribution naming both by
/// number (`distribution_selected`), in the key's order, so rows land at
/// its end.
pub fn record_selection(
    conn: &mut DbConnection,
    key: (&str, &str, &str),
    period: (NaiveDate, NaiveDate),
) -> QueryResult<()> {
    if matches!(conn, DbConnection::Postgresql(_)) {
        insert_selected(
            conn,
            format!(
                "INSERT INTO distribution_selections (distribution_id, contribution_seqs) \
                 SELECT $4, COALESCE(array_agg(c.seq ORDER BY c.seq), '{{}}') \
                 FROM contributions c WHERE {COUNTED} AND c.currency = $5"
            ),
            key,
            period,
        )?;
        return Ok(());
    }
    let (_, distribution_id, _) = key;
    diesel::sql_query("INSERT INTO distribution_selections (distribution_id) VALUES ($1)")
        .bind::<diesel::sql_types::Text, _>(distribution_id)
        .execute(conn)?;
    insert_selected(
        conn,
        format!(
            "INSERT INTO distribution_selected (selection_seq, contribution_seq) \
             SELECT s.seq, c.seq FROM contributions c, distribution_selections s \
             WHERE {COUNTED} AND s.distribution_id = $4 AND c.currency = $5 ORDER BY c.seq"
        ),
        key,
        period,
    )?;
    Ok(())
}

/// Runs `sql`, an `INSERT ... SELECT` of [`record_selection`] over the
/// contributions of [`COUNTED`], with its five parameters in the order
/// they appear (SQLite numbers `$N` so): `$1` the project, `$2` and `$3`
/// the period, `$4` the run, `$5` its currency.
fn insert_selected(
    conn: &mut DbConnection,
    sql: String,
    (project_id, distribution_id, currency): (&str, &str, &str),
    (from, to): (NaiveDate, NaiveDate),
) -> QueryResult<usize> {
    diesel::sql_query(sql)
        .bind::<diesel::sql_types::Text, _>(project_id)
        .bind::<diesel::sql_types::Date, _>(from)
        .bind::<diesel::sql_types::Date, _>(to)
        .bind::<diesel::sql_types::Text, _>(distribution_id)
        .bind::<diesel::sql_types::Text, _>(currency)
        .execute(conn)
}
