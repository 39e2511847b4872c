//! Rule set versions, distribution runs and their approvals.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{distribution_approvals, distributions, rule_sets};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rule_sets)]
pub struct RuleSetRow {
    pub project_id: String,
    pub version: i32,
    pub definition: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = distributions)]
pub struct DistributionRow {
    pub id: String,
    pub project_id: String,
    pub rule_set_version: i32,
    pub pool_account: String,
    pub currency: String,
    pub amount: i64,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub status: String,
    pub inputs: String,
    pub plan: String,
    pub residue: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub transaction_id: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
}

pub fn latest_version(conn: &mut DbConnection, project_id: &str) -> QueryResult<i32> {
    let versions: Vec<i32> = rule_sets::table
        .filter(rule_sets::project_id.eq(project_id))
        .select(rule_sets::version)
        .order(rule_sets::version.desc())
        .limit(1)
        .load(conn)?;
    Ok(versions.first().copied().unwrap_or(0))
}

pub fn insert_rule_set(conn: &mut DbConnection, row: &RuleSetRow) -> QueryResult<()> {
    diesel::insert_into(rule_sets::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn rule_set(
    conn: &mut DbConnection,
    project_id: &str,
    version: i32,
) -> QueryResult<Option<RuleSetRow>> {
    rule_sets::table
        .find((project_id, version))
        .select(RuleSetRow::as_select())
        .first(conn)
        .optional()
}

pub fn rule_sets(
    conn: &mut DbConnection,
    project_id: &str,
    after: Option<i32>,
    limit: i64,
) -> QueryResult<Vec<RuleSetRow>> {
    let mut query = rule_sets::table
        .filter(rule_sets::project_id.eq(project_id.to_owned()))
        .select(RuleSetRow::as_select())
        .order(rule_sets::version)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(rule_sets::version.gt(after));
    }
    query.load(conn)
}

pub fn insert(conn: &mut DbConnection, row: &DistributionRow) -> QueryResult<()> {
    diesel::insert_into(distributions::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find(
    conn: &mut DbConnection,
    project_id: &str,
    id: &str,
) -> QueryResult<Option<DistributionRow>> {
    distributions::table
        .filter(distributions::project_id.eq(project_id))
        .filter(distributions::id.eq(id))
        .select(DistributionRow::as_select())
        .first(conn)
        .optional()
}

pub fn list(
    conn: &mut DbConnection,
    project_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<DistributionRow>> {
    let mut query = distributions::table
        .filter(distributions::project_id.eq(project_id.to_owned()))
        .select(DistributionRow::as_select())
        .order(distributions::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(distributions::id.gt(after.to_owned()));
    }
    query.load(conn)
}

/// Moves a run to `status`, with its transaction once executed.
pub fn set_status(
    conn: &mut DbConnection,
    id: &str,
    status: &str,
    transaction_id: Option<&str>,
) -> QueryResult<()> {
    diesel::update(distributions::table.find(id))
        .set((
            distributions::status.eq(status),
            distributions::transaction_id.eq(transaction_id),
            distributions::decided_at.eq(Some(super::now())),
        ))
        .execute(conn)
        .map(drop)
}

pub fn approvers(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<(String, NaiveDateTime)>> {
    distribution_approvals::table
        .filter(distribution_approvals::distribution_id.eq(id))
        .select((
            distribution_approvals::approver_id,
            distribution_approvals::created_at,
        ))
        .order(distribution_approvals::created_at)
        .load(conn)
}

pub fn insert_approval(conn: &mut DbConnection, id: &str, approver: &str) -> QueryResult<()> {
    diesel::insert_into(distribution_approvals::table)
        .values((
            distribution_approvals::distribution_id.eq(id),
            distribution_approvals::approver_id.eq(approver),
            distribution_approvals::created_at.eq(super::now()),
        ))
        .execute(conn)
        .map(drop)
}

/// Locks a run's row on PostgreSQL while it changes state.
pub fn lock(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        distributions::table
            .find(id)
            .select(distributions::id)
            .for_update()
            .first::<String>(pg)
            .optional()?;
    }
    Ok(())
}

/// The runs executed by the given transactions.
pub fn by_transactions(
    conn: &mut DbConnection,
    ids: &[String],
) -> QueryResult<Vec<DistributionRow>> {
    distributions::table
        .filter(distributions::transaction_id.eq_any(ids))
        .select(DistributionRow::as_select())
        .load(conn)
}
