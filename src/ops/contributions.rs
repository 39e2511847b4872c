//! Recording a contribution, for the API and the CSV import alike: the
//! contributor, the licence policy, the correction it may be, and its value
//! from the rate in force on its date.

use chrono::NaiveDate;

use super::{Error, FieldProblem, Missing, Refusal};
use crate::db::contributions::{ContributionRow, ReviewRow};
use crate::db::projects::Project;
use crate::db::rates::RateRow;
use crate::db::{self, DbConnection};
use crate::domain::Amount;
use crate::domain::contribution::{
    ContributionFacts, ContributionKind, ContributionStatus, QuantityUnit, RateCandidate,
    select_rate, status_after, value,
};
use crate::domain::licence;
use crate::domain::transaction::{TransactionError, check_dated};

/// Longest SPDX licence expression, in characters: real ones
/// (`CC-BY-4.0 OR ODbL-1.0`) are a few dozen; a longer text is no licence
/// anyone would read, and is stored with every contribution.
pub const LICENCE_LENGTH_MAX: usize = 500;

/// A contribution as asked for, checked as far as it can be without the
/// database: the problems found so far travel with it, to be reported
/// together with those only the database can tell.
#[derive(Debug, Clone)]
pub struct NewContribution {
    /// Whose it is (default: whoever records it).
    pub agent: Option<String>,
    pub kind: ContributionKind,
    pub unit: QuantityUnit,
    pub date: Option<NaiveDate>,
    pub quantity: Option<Amount>,
    pub description: String,
    pub skill: Option<String>,
    pub equipment: Option<String>,
    pub dataset: Option<NewDataset>,
    /// The contribution this one corrects.
    pub supersedes: Option<String>,
    pub problems: Vec<FieldProblem>,
}

/// The dataset a data contribution describes.
#[derive(Debug, Clone)]
pub struct NewDataset {
    pub title: String,
    pub uri: Option<String>,
    pub size_bytes: Option<i64>,
    pub checksum: Option<String>,
    /// An SPDX expression, checked against the project's licence policy.
    pub licence: String,
}

impl NewContribution {
    /// Whose contribution it is, when `recorder` records it.
    pub fn agent_for<'a>(&'a self, recorder: &'a str) -> &'a str {
        self.agent.as_deref().unwrap_or(recorder)
    }
}

/// Records `contribution`, recorded by `recorder`, pending review.
pub fn record(
    conn: &mut DbConnection,
    project: &Project,
    recorder: &str,
    contribution: &NewContribution,
) -> Result<ContributionRow, Error> {
    let row = prepare(conn, project, recorder, contribution)?;
    db::contributions::insert(conn, &row)?;
    Ok(row)
}

/// Records contributions prepared outside the writer (an import's rows)
/// if the project revision is still the one they were prepared at: rates,
/// members, settings and corrections unchanged.
pub fn record_all(
    conn: &mut DbConnection,
    project: &Project,
    revision: i64,
    rows: &[ContributionRow],
) -> Result<(), Error> {
    if db::projects::revision_locked(conn, &project.id)? != revision {
        return Err(Error::Changed(
            "the project's rates, members, settings or corrections",
        ));
    }
    // The books may have been closed while the rows were prepared.
    let closed_through = db::projects::find(conn, &project.id)?
        .ok_or_else(|| Error::corrupt("a project being written is missing"))?
        .closed_through;
    for row in rows {
        check_dated(row.date, db::today(), closed_through)?;
    }
    db::contributions::insert_all(conn, rows)?;
    Ok(())
}

/// Everything [`record`] does but the insert, reading only (so an import
/// can prepare its rows outside the writer). Every field problem found is
/// returned at once.
pub fn prepare(
    conn: &mut DbConnection,
    project: &Project,
    recorder: &str,
    contribution: &NewContribution,
) -> Result<ContributionRow, Error> {
    let agent = contribution.agent_for(recorder);
    if agent != recorder && db::agents::find(conn, agent)?.is_none() {
        return Err(Error::UnknownAgent(agent.to_owned()));
    }
    let mut problems = contribution.problems.clone();
    let licence = match &contribution.dataset {
        Some(dataset) => licensed(project, dataset, &mut problems)?,
        None => None,
    };
    if let Some(supersedes) = &contribution.supersedes {
        let original = db::contributions::find(conn, &project.id, supersedes)?
            .ok_or(Error::NotFound(Missing::Contribution))?;
        if original.agent_id != agent {
            problems.push(FieldProblem::new(
                "supersedes",
                "invalid_scope",
                "a correction is for the same contributor",
            ));
        }
        if let Some(existing) = db::contributions::live_corrections(conn, supersedes)?.first() {
            return Err(Error::AlreadyCorrected(existing.clone()));
        }
        // A correction replaces the original's value: not in a closed period.
        check_dated(original.date, db::today(), project.closed_through)?;
    }
    let (Some(date), Some(quantity), true) = (
        contribution.date,
        contribution.quantity,
        problems.is_empty(),
    ) else {
        return Err(Error::Invalid(problems));
    };
    check_dated(date, db::today(), project.closed_through)?;
    let facts = ContributionFacts {
        kind: contribution.kind,
        unit: contribution.unit,
        date,
        agent,
        skill: contribution.skill.as_deref(),
        equipment: contribution.equipment.as_deref(),
    };
    let valued = valuation(conn, project, &facts, quantity)?;
    let dataset = contribution.dataset.as_ref();
    Ok(ContributionRow {
        id: uuid::Uuid::now_v7().to_string(),
        project_id: project.id.to_string(),
        agent_id: agent.to_owned(),
        kind: contribution.kind,
        date,
        quantity: quantity.minor(),
        unit: contribution.unit,
        description: contribution.description.clone(),
        skill: contribution.skill.clone(),
        equipment: contribution.equipment.clone(),
        dataset_title: dataset.map(|d| d.title.trim().to_owned()),
        dataset_uri: dataset.and_then(|d| d.uri.clone()),
        dataset_size_bytes: dataset.and_then(|d| d.size_bytes),
        dataset_checksum: dataset.and_then(|d| d.checksum.clone()),
        licence,
        rate_id: valued.as_ref().map(|(rate, _)| rate.id.clone()),
        value: valued.as_ref().map(|(_, minor)| *minor),
        currency: valued.as_ref().map(|(rate, _)| rate.currency.clone()),
        supersedes_id: contribution.supersedes.clone(),
        status: ContributionStatus::Pending,
        recorded_by: recorder.to_owned(),
        recorded_at: db::now(),
        decided_at: None,
    })
}

/// The dataset's licence, checked against the project's policy; a problem
/// is added, not returned, so every field is reported at once.
fn licensed(
    project: &Project,
    dataset: &NewDataset,
    problems: &mut Vec<FieldProblem>,
) -> Result<Option<String>, Error> {
    // Too long a text is already refused; it is not parsed.
    if dataset.licence.chars().count() > LICENCE_LENGTH_MAX {
        return Ok(None);
    }
    // An unreadable policy is a fault, never "any licence".
    let policy = project.licence_policy;
    Ok(match licence::check(&dataset.licence, policy) {
        Ok(expression) => Some(expression),
        Err(error) => {
            problems.push(FieldProblem::new("dataset.licence", error.code(), &error));
            None
        }
    })
}

/// The rate in force for `facts` and the value of `quantity` at it; none
/// when no rate applies and the project accepts unvalued contributions.
fn valuation(
    conn: &mut DbConnection,
    project: &Project,
    facts: &ContributionFacts<'_>,
    quantity: Amount,
) -> Result<Option<(RateRow, i64)>, Error> {
    let rows = db::rates::of_kind(conn, &project.id, facts.kind.as_str())?;
    let candidates = rows
        .iter()
        .map(|row| {
            Ok(RateCandidate {
                id: row.id.clone(),
                kind: row.kind,
                skill: Some(row.skill.clone()).filter(|s| !s.is_empty()),
                equipment: Some(row.equipment.clone()).filter(|s| !s.is_empty()),
                agent: Some(row.agent_id.clone()).filter(|s| !s.is_empty()),
                per: row.per,
                effective_from: row.effective_from,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let Some(chosen) = select_rate(&candidates, facts) else {
        return if project.allow_unvalued {
            Ok(None)
        } else {
            Err(Error::Refused(Refusal::NoApplicableRate))
        };
    };
    let rate = rows
        .into_iter()
        .find(|row| row.id == chosen.id)
        .ok_or_else(|| Error::corrupt("the chosen rate vanished"))?;
    let currency = db::projects::stored_unit(conn, &rate.currency)?
        .ok_or_else(|| Error::corrupt(format!("unit {} not recorded", rate.currency)))?;
    let minor = value(quantity, facts.unit, rate.rate, &currency)
        .map_err(|e| Error::invalid("quantity", "amount_too_large", e))?;
    Ok(Some((rate, minor)))
}

pub use crate::domain::contribution::Decision;

/// `reviewer` reviews a pending contribution, not their own nor one they
/// recorded, once; with enough approvals (or one rejection) it is decided.
pub fn review(
    conn: &mut DbConnection,
    project: &Project,
    reviewer: &str,
    id: &str,
    decision: Decision,
    reason: &str,
) -> Result<ContributionRow, Error> {
    db::contributions::lock(conn, id)?;
    let row = db::contributions::find(conn, &project.id, id)?
        .ok_or(Error::NotFound(Missing::Contribution))?;
    if row.agent_id == reviewer || row.recorded_by == reviewer {
        return Err(Error::Refused(Refusal::SelfReview));
    }
    if row.status != ContributionStatus::Pending {
        return Err(Error::Refused(Refusal::ContributionDecided(
            row.status.as_str().to_owned(),
        )));
    }
    // Nothing in a closed period is reviewed into value (or out of it),
    // nor replaced by approving a correction of it.
    let original = match &row.supersedes_id {
        Some(id) => db::contributions::find(conn, &project.id, id)?.map(|o| o.date),
        None => None,
    };
    for date in std::iter::once(row.date).chain(original) {
        if let Some(through) = project.closed_through.filter(|through| date <= *through) {
            return Err(TransactionError::PeriodClosed { through, date }.into());
        }
    }
    let earlier = db::contributions::reviews_of(conn, std::slice::from_ref(&row.id))?;
    if earlier.iter().any(|r| r.reviewer_id == reviewer) {
        return Err(Error::Refused(Refusal::AlreadyReviewed));
    }
    db::contributions::insert_review(
        conn,
        &ReviewRow {
            contribution_id: row.id.clone(),
            reviewer_id: reviewer.to_owned(),
            decision,
            reason: reason.to_owned(),
            created_at: db::now(),
        },
    )?;
    let count = |wanted: Decision| {
        earlier.iter().filter(|r| r.decision == wanted).count() + usize::from(decision == wanted)
    };
    let required = usize::try_from(project.approvals_required)
        .map_err(|_| Error::corrupt("approvals required"))?;
    let status = status_after(count(Decision::Approve), count(Decision::Reject), required);
    if status != ContributionStatus::Pending {
        db::contributions::decide(conn, &row.id, status.as_str())?;
    }
    db::contributions::find(conn, &project.id, &row.id)?
        .ok_or(Error::NotFound(Missing::Contribution))
}
