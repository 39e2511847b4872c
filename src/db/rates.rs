//! Effective-dated valuation rates.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::rates;
use crate::domain::contribution::{ContributionKind, QuantityUnit};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rates)]
pub struct RateRow {
    pub id: String,
    pub project_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: ContributionKind,
    /// Empty when the rate applies to every skill.
    pub skill: String,
    /// Empty when the rate applies to every equipment item.
    pub equipment: String,
    /// Empty when the rate applies to every agent.
    pub agent_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub per: QuantityUnit,
    pub effective_from: NaiveDate,
    pub rate: i64,
    pub currency: String,
    pub method: String,
    pub source: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

insert_row!(owned insert, rates, RateRow);

/// Inserts `row` unless a rate of the same scope and start date exists
/// (one a concurrent request added first included): whether it was.
pub fn insert_unique(conn: &mut DbConnection, row: &RateRow) -> QueryResult<bool> {
    if find_same_scope(conn, row)?.is_some() {
        return Ok(false);
    }
    match insert(conn, row) {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        other => other.map(|()| true),
    }
}

/// The rate of the same scope and start date, if any.
pub fn find_same_scope(conn: &mut DbConnection, row: &RateRow) -> QueryResult<Option<RateRow>> {
    rates::table
        .filter(rates::project_id.eq(&row.project_id))
        .filter(rates::kind.eq(row.kind.as_str()))
        .filter(rates::skill.eq(&row.skill))
        .filter(rates::equipment.eq(&row.equipment))
        .filter(rates::agent_id.eq(&row.agent_id))
        .filter(rates::per.eq(row.per.as_str()))
        .filter(rates::effective_from.eq(row.effective_from))
        .select(RateRow::as_select())
        .first(conn)
        .optional()
}

row_by_key!(find, rates, RateRow, id: &str);

/// Every rate of a project for one kind of contribution.
pub fn of_kind(conn: &mut DbConnection, project_id: &str, kind: &str) -> QueryResult<Vec<RateRow>> {
    rates::table
        .filter(rates::project_id.eq(project_id))
        .filter(rates::kind.eq(kind))
        .select(RateRow::as_select())
        .load(conn)
}

project_page!(
    /// A page of a project's rates by id (creation order).
    list,
    rates,
    RateRow,
    by id,
    kind: Option<&str> => kind
);
