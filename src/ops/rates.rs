//! Valuation rates: effective-dated, never edited; a change is a rate of
//! the same scope from a later date.

use chrono::NaiveDate;

use super::funds::money;
use super::{Error, FieldProblem, Refusal};
use crate::db::projects::Project;
use crate::db::rates::RateRow;
use crate::db::{self, DbConnection};
use crate::domain::contribution::{ContributionKind, QuantityUnit};

/// A rate as asked for, with the problems found so far.
#[derive(Debug, Clone)]
pub struct NewRate {
    pub kind: ContributionKind,
    pub per: QuantityUnit,
    /// Narrowed to one skill (time), item (equipment) or agent, if given.
    pub skill: Option<String>,
    pub equipment: Option<String>,
    pub agent: Option<String>,
    pub effective_from: Option<NaiveDate>,
    pub rate: String,
    pub currency: String,
    pub method: String,
    pub source: String,
    pub problems: Vec<FieldProblem>,
}

/// Adds `rate`, by `recorder`; one rate per scope and start date.
pub fn add_rate(
    conn: &mut DbConnection,
    project: &Project,
    recorder: &str,
    rate: &NewRate,
) -> Result<RateRow, Error> {
    let mut problems = rate.problems.clone();
    let money = money(
        conn,
        ("rate", "currency"),
        &rate.rate,
        &rate.currency,
        &mut problems,
    )?;
    if let Some(agent) = &rate.agent
        && db::agents::find(conn, agent)?.is_none()
    {
        return Err(Error::UnknownAgent(agent.clone()));
    }
    let (Some((currency, amount)), Some(effective_from), true) =
        (money, rate.effective_from, problems.is_empty())
    else {
        return Err(Error::Invalid(problems));
    };
    let currency = db::projects::ensure_unit(conn, &currency)?;
    let row = RateRow {
        id: uuid::Uuid::now_v7().to_string(),
        project_id: project.id.to_string(),
        kind: rate.kind,
        skill: rate.skill.clone().unwrap_or_default(),
        equipment: rate.equipment.clone().unwrap_or_default(),
        agent_id: rate.agent.clone().unwrap_or_default(),
        per: rate.per,
        effective_from,
        rate: amount.minor(),
        currency: currency.code().to_owned(),
        method: rate.method.clone(),
        source: rate.source.clone(),
        created_by: recorder.to_owned(),
        created_at: db::now(),
    };
    if !db::rates::insert_unique(conn, &row)? {
        return Err(Error::Refused(Refusal::RateExists));
    }
    Ok(row)
}
