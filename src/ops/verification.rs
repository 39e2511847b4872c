//! Verifying a project's ledger, for the API and the command line alike:
//! the hash chain and every balance recomputed from the stored rows, in
//! one snapshot.

use super::Error;
use crate::db::verification::{self, Verification};
use crate::db::{Database, DbConnection};

/// Verifies `project_id` in `conn`'s snapshot ([`Database::snapshot`]).
/// `None` if there is no such project.
pub fn verify(conn: &mut DbConnection, project_id: &str) -> Result<Option<Verification>, Error> {
    Ok(verification::verify(conn, project_id)?)
}

/// Verifies `project_id` in a snapshot of its own.
pub fn verify_in(db: &Database, project_id: &str) -> Result<Option<Verification>, Error> {
    db.snapshot(|conn| verify(conn, project_id))
}

/// Every project's id, to verify them all.
pub fn projects(db: &Database) -> Result<Vec<String>, Error> {
    db.read(|conn| Ok(verification::project_ids(conn)?))
}
