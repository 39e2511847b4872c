//! Closings: the dates through which a project's books are closed.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::closings;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = closings)]
pub struct ClosingRow {
    pub id: String,
    pub project_id: String,
    pub through: NaiveDate,
    pub note: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

insert_row!(owned insert, closings, ClosingRow);

project_page!(
    /// A project's closings, oldest first (ids are time-ordered).
    list,
    closings,
    ClosingRow
);
