//! Closing a period: the books of a project are closed through a date, and
//! nothing dated on or before it is posted, recorded or reviewed any more
//! (the ledger and the database refuse it: `period_closed`).

use chrono::NaiveDate;

use super::{Error, Refusal};
use crate::db::closings::ClosingRow;
use crate::db::projects::Project;
use crate::db::{self, DbConnection};

/// Closes `project`'s books through `through`, by `by`: only forward (after
/// the last closing) and never past today (what is closed is what has
/// happened).
pub fn close(
    conn: &mut DbConnection,
    project: &Project,
    by: &str,
    through: NaiveDate,
    note: &str,
) -> Result<ClosingRow, Error> {
    db::projects::lock(conn, &project.id)?;
    let current = db::projects::find(conn, &project.id)?
        .ok_or_else(|| Error::corrupt("a project being written is missing"))?
        .closed_through;
    if let Some(closed) = current.filter(|closed| through <= *closed) {
        return Err(Refusal::ClosingNotForward { closed, through }.into());
    }
    let today = db::today();
    if through >= today {
        return Err(Refusal::ClosingNotPast { through, today }.into());
    }
    let row = ClosingRow {
        id: uuid::Uuid::now_v7().to_string(),
        project_id: project.id.to_string(),
        through,
        note: note.to_owned(),
        created_by: by.to_owned(),
        created_at: db::now(),
    };
    db::closings::insert(conn, &row)?;
    Ok(row)
}
