//! `/v1/projects/{project_id}/rates`: effective-dated valuation rates. A rate
//! is never edited: a new row takes effect from its date, and past values
//! keep the rate they were computed with.

use actix_web::{HttpResponse, get, post, web};
use commons_ledger_macros::operation;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::call::{ProjectPage, ProjectWrite};
use super::codes::FieldCode;
use super::dto::page_type;
use super::dto::{ContributionKindDto, PageQuery, QuantityUnitDto, Rate, to_rate};
use super::extract::{CursorKey, date_field};
pub use super::limits::SCOPE_LENGTH_MAX;
use super::openapi::OwnersAndTreasurers;
use super::problem::{ApiError, FieldError, Problem};
use super::write::Reply;
use crate::db::projects::Project;
use crate::db::{self, DbConnection};
use crate::domain::access::Action;
use crate::domain::contribution::{ContributionKind, QuantityUnit};
use crate::http::reply::in_project;
use crate::ops::rates::NewRate;
use crate::ops::{self, FieldProblem};

/// Longest method name, in characters.
pub const RATE_METHOD_LENGTH_MAX: usize = 200;
/// Longest source, in characters.
pub const RATE_SOURCE_LENGTH_MAX: usize = 500;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_rate).service(list_rates);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "time", "effective_from": "2026-01-01", "rate": "25.00", "currency": "EUR", "per": "hour", "method": "replacement_cost", "source": "replacement cost, ISCO 2511", "skill": "sensor calibration"}))]
pub struct CreateRateRequest {
    pub kind: ContributionKindDto,
    /// First day the rate applies, `YYYY-MM-DD`.
    #[schema(example = "2026-01-01", format = Date, max_length = 10)]
    pub effective_from: String,
    /// Value of one `per`, a positive decimal string in `currency` with at
    /// most its decimals, at most 10^15 minor units and 40 characters.
    #[schema(example = "25.00", pattern = r"^[0-9]+(\.[0-9]+)?$", max_length = 40)]
    pub rate: String,
    #[schema(example = "EUR", max_length = 8)]
    pub currency: String,
    pub per: QuantityUnitDto,
    /// How the value is reckoned, e.g. `replacement_cost`.
    #[schema(example = "replacement_cost", max_length = 200)]
    pub method: String,
    /// Where the figure comes from, e.g. "replacement cost, ISCO 2511".
    #[schema(example = "replacement cost, ISCO 2511", max_length = 500)]
    pub source: String,
    /// Only contributions of this skill (time).
    #[schema(max_length = 100)]
    pub skill: Option<String>,
    /// Only this equipment item (equipment).
    #[schema(max_length = 100)]
    pub equipment: Option<String>,
    /// Only this agent's contributions.
    #[schema(format = Uuid, max_length = 36)]
    pub agent: Option<String>,
}

page_type!(RatePage, Rate);

/// A list of rates' filter (besides its page, [`PageQuery`]).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RateQuery {
    /// Only rates of this kind.
    pub kind: Option<ContributionKindDto>,
}

/// Add a valuation rate
///
/// Adds a valuation rate (owners and treasurers): effective from its date for
/// its kind and unit, never rewriting contributions already valued.
#[operation(post "/projects/{project_id}/rates", tag = "contributions",
    request_body = CreateRateRequest, signed_in,
    responses(
        201 Rate "The rate",
        OwnersAndTreasurers,
        409 "`rate_exists` for this scope and date, or idempotent request in flight",
        422 "`amount_precision`, `unknown_currency`, `invalid_unit`, `invalid_scope`, `unknown_agent`, ...",
    ))]
pub async fn create_rate(
    ProjectWrite { body, call }: ProjectWrite<CreateRateRequest>,
) -> Result<HttpResponse, ApiError> {
    super::limits::check_optional_id("agent", body.agent.as_deref())?;
    let rate = parse_rate(body);
    call.run(Action::ManageRates, move |conn, caller, project| {
        let recorder = caller.signed_in()?.id.clone();
        let row = ops::rates::add_rate(conn, project, &recorder, &rate)?;
        // A rate has no `GET` of its own: the rate list holds it.
        Reply::created(
            in_project(&project.id, format_args!("rates")),
            &to_rate(&super::stored_units(conn)?, row)?,
        )
    })
    .await
}

/// A rate request checked field by field, before the database.
fn parse_rate(request: CreateRateRequest) -> NewRate {
    let kind = ContributionKind::from(request.kind);
    let per = QuantityUnit::from(request.per);
    let mut errors = Vec::new();
    let effective_from = date_field("effective_from", &request.effective_from, &mut errors);
    if !kind.accepts(per) {
        errors.push(FieldError::new(
            "per",
            FieldCode::InvalidUnit,
            format!("{} is not measured per {}", kind.as_str(), per.as_str()),
        ));
    }
    let mut text =
        |field: &str, value: &str, max: usize| super::funds::text(field, value, max, &mut errors);
    let method = text("method", &request.method, RATE_METHOD_LENGTH_MAX);
    let source = text("source", &request.source, RATE_SOURCE_LENGTH_MAX);
    let skill = request
        .skill
        .as_deref()
        .map(|s| text("skill", s, SCOPE_LENGTH_MAX));
    let equipment = (request.equipment.as_deref()).map(|s| text("equipment", s, SCOPE_LENGTH_MAX));
    if skill.is_some() && kind != ContributionKind::Time {
        errors.push(FieldError::new(
            "skill",
            FieldCode::InvalidScope,
            "only time is narrowed by skill",
        ));
    }
    if equipment.is_some() && kind != ContributionKind::Equipment {
        errors.push(FieldError::new(
            "equipment",
            FieldCode::InvalidScope,
            "only equipment use is narrowed by item",
        ));
    }
    NewRate {
        kind,
        per,
        skill,
        equipment,
        agent: request.agent,
        effective_from,
        rate: request.rate,
        currency: request.currency,
        method,
        source,
        problems: errors.into_iter().map(FieldProblem::from).collect(),
    }
}

/// List valuation rates
///
/// A project's valuation rates oldest first: each with its kind, what it
/// applies to (a skill, a piece of equipment or an agent), its amount per unit,
/// its named method and source, and the date it takes effect; `kind` keeps one
/// kind's.
#[operation(get "/projects/{project_id}/rates", tag = "contributions", public,
    params(PageQuery, RateQuery), responses(200 RatePage "A page of rates"))]
pub async fn list_rates(
    page: ProjectPage,
    query: web::Query<RateQuery>,
) -> Result<web::Json<RatePage>, ApiError> {
    let kind = query.kind.map(|k| ContributionKind::from(k).as_str());
    let fetch = move |conn: &mut DbConnection, project: &Project, after: Option<&str>, limit| {
        let units = super::stored_units(conn)?;
        db::rates::list(conn, &project.id, kind, after, limit)?
            .into_iter()
            .map(|row| to_rate(&units, row))
            .collect()
    };
    let page = page
        .read(Action::ReadLedger, CursorKey::Id, fetch, |r| r.id.clone())
        .await?;
    Ok(web::Json(page.into()))
}
