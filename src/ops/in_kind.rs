//! In-kind counted once: a contribution's value is allocated to at most one
//! grant's match (Horizon Europe in-kind rules, 2 CFR 200.306), never moved,
//! and never in a closed period. A contribution is allocated either when it
//! is recorded (`record_allocated`) or later (`allocate`), by the same rules:
//! a pending one may be allocated (it counts toward the grant's match once
//! approved, and nowhere if rejected), a rejected one may not.

use super::contributions::NewContribution;
use super::funds::find_grant;
use super::{Error, Missing, Refusal};
use crate::db::contributions::ContributionRow;
use crate::db::in_kind::AllocationRow;
use crate::db::projects::Project;
use crate::db::{self, DbConnection};
use crate::domain::contribution::ContributionStatus;
use crate::domain::transaction::TransactionError;

/// Records `contribution` (by `recorder`) and allocates its value to the
/// match of `grant` in the same transaction: the grant is found first, so an
/// unknown one records nothing.
pub fn record_allocated(
    conn: &mut DbConnection,
    project: &Project,
    recorder: &str,
    contribution: &NewContribution,
    grant: &str,
) -> Result<(ContributionRow, AllocationRow), Error> {
    find_grant(conn, project, grant)?;
    let row = super::contributions::record(conn, project, recorder, contribution)?;
    let allocation = allocate(conn, project, recorder, grant, &row.id)?;
    Ok((row, allocation))
}

/// Allocates the value of `contribution` to the match of `grant`, by `by`.
pub fn allocate(
    conn: &mut DbConnection,
    project: &Project,
    by: &str,
    grant: &str,
    contribution: &str,
) -> Result<AllocationRow, Error> {
    db::projects::lock(conn, &project.id)?;
    let grant = find_grant(conn, project, grant)?;
    let contribution = db::contributions::find(conn, &project.id, contribution)?
        .ok_or(Error::NotFound(Missing::Contribution))?;
    if let Some(existing) = db::in_kind::of(conn, &contribution.id)? {
        let reference = db::funds::grant(conn, &project.id, &existing.grant_id)?
            .map_or(existing.grant_id, |g| g.reference);
        return Err(Refusal::AlreadyAllocated(reference).into());
    }
    if contribution.status == ContributionStatus::Rejected {
        return Err(Refusal::ContributionDecided("rejected".to_owned()).into());
    }
    if let Some(through) = project.closed_through.filter(|t| contribution.date <= *t) {
        return Err(TransactionError::PeriodClosed {
            through,
            date: contribution.date,
        }
        .into());
    }
    let row = AllocationRow {
        contribution_id: contribution.id,
        grant_id: grant.id,
        project_id: project.id.to_string(),
        allocated_by: by.to_owned(),
        allocated_at: db::now(),
    };
    db::in_kind::insert(conn, &row)?;
    Ok(row)
}
