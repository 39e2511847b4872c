//! `/v1/projects/{project_id}/contributions`: time, equipment use and data,
//! valued once at recording from the rate in force on their date, and
//! reviewed before they count.

use commons_ledger_macros::operation;
use std::collections::HashMap;

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::access::Caller;
use super::call::{ItemWrite, ProjectCall, ProjectPage, ProjectWrite};
use super::codes::{FieldCode, Resource};
use super::dto::page_type;
use super::dto::{
    ContributionKindDto, ContributionStatusDto, PageQuery, QuantityUnitDto, Rate, to_rate,
};
use super::extract::{CursorKey, date_field, decode_cursor, page_size, query_date};
use super::limits;
use super::limits::SCOPE_LENGTH_MAX;
use super::problem::{ApiError, FieldError, Problem};
use super::write::Reply;
use crate::db::contributions::{ContributionFilter, ContributionRow};
use crate::db::projects::Project;
use crate::db::rates::RateRow;
use crate::db::{self, DbConnection};
use crate::domain::access::Action;
use crate::domain::contribution::{ContributionKind, ContributionStatus, QuantityUnit};
use crate::http::reply::in_project;
use crate::ops::contributions::{Decision, NewContribution, NewDataset};
use crate::ops::{self, FieldProblem};

/// Longest description or dataset text field, in characters.
pub const CONTRIBUTION_TEXT_LENGTH_MAX: usize = 1_000;
/// Longest review reason, in characters.
pub const REVIEW_REASON_LENGTH_MAX: usize = 1_000;
pub use crate::ops::contributions::LICENCE_LENGTH_MAX;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_contribution)
        .service(list_contributions)
        .service(get_contribution)
        .service(create_review);
}

/// A dataset offered as a contribution.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    #[schema(example = "Lyon air quality, 1.2 million readings", max_length = 1000)]
    pub title: String,
    /// Where it is published: a URL or a DOI (`doi:10.5281/zenodo.123`).
    #[schema(max_length = 1000)]
    pub uri: Option<String>,
    /// Size in bytes, 0 or more.
    #[schema(minimum = 0)]
    pub size_bytes: Option<i64>,
    /// E.g. `sha256:...`.
    #[schema(max_length = 1000)]
    pub checksum: Option<String>,
    /// An SPDX licence expression, at most 500 characters.
    #[schema(example = "CC-BY-4.0", max_length = 500)]
    pub licence: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "time", "date": "2026-03-02", "quantity": "12.5", "unit": "hour", "skill": "sensor calibration", "description": "calibrated the twelve sensors of the Croix-Rousse network"}))]
pub struct CreateContributionRequest {
    /// Who contributed (default: the caller). Treasurers and owners may log for others.
    #[schema(format = Uuid, max_length = 36)]
    pub agent: Option<String>,
    pub kind: ContributionKindDto,
    #[schema(example = "2026-03-02", format = Date, max_length = 10)]
    pub date: String,
    /// Positive decimal string: hours or days with two decimals, datasets
    /// whole; at most 10^15 of the unit's smallest steps (10,000,000,000,000.00
    /// hours) and 40 characters. Its value (quantity x rate) may be at most
    /// 10^15 minor units of the rate's currency.
    #[schema(example = "12.5", pattern = r"^[0-9]+(\.[0-9]+)?$", max_length = 40)]
    pub quantity: String,
    pub unit: QuantityUnitDto,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub description: String,
    /// The skill used (time), which may select a narrower rate.
    #[schema(max_length = 100)]
    pub skill: Option<String>,
    /// The equipment item used (required for equipment).
    #[schema(example = "3d-printer-1", max_length = 100)]
    pub equipment: Option<String>,
    /// Required for data.
    pub dataset: Option<Dataset>,
    /// The contribution this one corrects and, once approved, replaces.
    #[schema(format = Uuid, max_length = 36)]
    pub supersedes: Option<String>,
    /// The grant whose match the contribution's value counts toward
    /// (owners and treasurers): allocated as it is recorded, as
    /// `POST .../grants/{grant_id}/in-kind` would, and counted once approved.
    #[schema(format = Uuid, max_length = 36)]
    pub grant: Option<String>,
}

/// How a contribution was valued.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Valuation {
    /// The value, in `currency`, rounded half to even to the currency's scale.
    #[schema(example = "312.50")]
    pub value: String,
    pub currency: String,
    /// The rate it was computed with, as it stood then.
    pub rate: Rate,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Review {
    #[schema(format = Uuid)]
    pub reviewer: String,
    pub decision: ReviewDecision,
    pub reason: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Contribution {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub agent: String,
    pub kind: ContributionKindDto,
    #[schema(format = Date)]
    pub date: String,
    pub quantity: String,
    pub unit: QuantityUnitDto,
    pub description: String,
    pub skill: Option<String>,
    pub equipment: Option<String>,
    pub dataset: Option<Dataset>,
    /// Null when the project accepts unvalued contributions and no rate applied.
    pub valuation: Option<Valuation>,
    pub status: ContributionStatusDto,
    pub reviews: Vec<Review>,
    #[schema(format = Uuid)]
    pub supersedes: Option<String>,
    /// The grant whose match its value is allocated to; null while it is
    /// allocated to none. Always present.
    #[schema(format = Uuid, required = true)]
    pub grant: Option<String>,
    #[schema(format = Uuid)]
    pub recorded_by: String,
    #[schema(format = DateTime)]
    pub recorded_at: String,
}

page_type!(ContributionPage, Contribution);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Approve,
    Reject,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "approve", "reason": "matches the workshop log"}))]
pub struct CreateReviewRequest {
    pub decision: ReviewDecision,
    /// Why; required to reject.
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub reason: String,
}

/// A list of contributions' filters (besides its page, [`PageQuery`]).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContributionQuery {
    /// Only this contributor's.
    #[param(max_length = 36)]
    pub agent: Option<String>,
    pub kind: Option<ContributionKindDto>,
    pub status: Option<ContributionStatusDto>,
    /// Earliest date, inclusive (`YYYY-MM-DD`).
    #[param(format = Date, max_length = 10)]
    pub from: Option<String>,
    /// Latest date, inclusive (`YYYY-MM-DD`).
    #[param(format = Date, max_length = 10)]
    pub to: Option<String>,
}

/// Builds the response shapes of `rows`, with their rates and reviews.
pub fn to_contributions(
    conn: &mut DbConnection,
    rows: Vec<ContributionRow>,
) -> Result<Vec<Contribution>, ApiError> {
    let units = super::stored_units(conn)?;
    let mut reviews = reviews_by_contribution(conn, &rows)?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut grants = db::in_kind::grants_of(conn, &ids)?;
    let mut rates: HashMap<String, RateRow> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let valuation = match (&row.rate_id, row.value, &row.currency) {
            (Some(rate_id), Some(minor), Some(currency)) => {
                if !rates.contains_key(rate_id) {
                    let rate =
                        db::rates::find(conn, rate_id)?.ok_or_else(|| corrupt("rate", rate_id))?;
                    rates.insert(rate_id.clone(), rate);
                }
                let rate = rates
                    .get(rate_id)
                    .cloned()
                    .ok_or_else(|| corrupt("rate", rate_id))?;
                Some(Valuation {
                    value: super::format_minor(&units, currency, minor),
                    currency: currency.clone(),
                    rate: to_rate(&units, rate)?,
                })
            }
            _ => None,
        };
        let reviews = reviews.remove(&row.id).unwrap_or_default();
        let grant = grants.remove(&row.id);
        out.push(to_contribution(row, valuation, reviews, grant)?);
    }
    Ok(out)
}

/// A stored value the service would never have written: a logged 500.
pub fn corrupt(what: &str, value: &str) -> ApiError {
    ApiError::internal(format!("stored data is unreadable: {what} `{value}`"))
}

/// The reviews of `rows`, by contribution.
fn reviews_by_contribution(
    conn: &mut DbConnection,
    rows: &[ContributionRow],
) -> Result<HashMap<String, Vec<Review>>, ApiError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut reviews: HashMap<String, Vec<Review>> = HashMap::new();
    for review in db::contributions::reviews_of(conn, &ids)? {
        let decision = match review.decision {
            Decision::Approve => ReviewDecision::Approve,
            Decision::Reject => ReviewDecision::Reject,
        };
        reviews
            .entry(review.contribution_id.clone())
            .or_default()
            .push(Review {
                reviewer: review.reviewer_id,
                decision,
                reason: review.reason,
                created_at: db::format_timestamp(review.created_at),
            });
    }
    Ok(reviews)
}

/// One contribution as the API shows it; its kind, unit and status read
/// back exactly, or an error.
fn to_contribution(
    row: ContributionRow,
    valuation: Option<Valuation>,
    reviews: Vec<Review>,
    grant: Option<String>,
) -> Result<Contribution, ApiError> {
    let (unit, kind, status) = (row.unit, row.kind, row.status);
    Ok(Contribution {
        kind: kind.into(),
        date: row.date.to_string(),
        quantity: unit.format_quantity(row.quantity),
        unit: QuantityUnitDto::from(unit),
        dataset: row.dataset_title.clone().map(|title| Dataset {
            title,
            uri: row.dataset_uri.clone(),
            size_bytes: row.dataset_size_bytes,
            checksum: row.dataset_checksum.clone(),
            licence: row.licence.clone().unwrap_or_default(),
        }),
        valuation,
        status: status.into(),
        reviews,
        recorded_at: db::format_timestamp(row.recorded_at),
        id: row.id,
        agent: row.agent_id,
        description: row.description,
        skill: row.skill,
        equipment: row.equipment,
        supersedes: row.supersedes_id,
        grant,
        recorded_by: row.recorded_by,
    })
}

fn one(conn: &mut DbConnection, row: ContributionRow) -> Result<Contribution, ApiError> {
    to_contributions(conn, vec![row])?
        .pop()
        .ok_or_else(|| ApiError::internal("contribution vanished"))
}

fn optional_text(
    field: &str,
    text: Option<&str>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let text = text.map(str::trim).filter(|t| !t.is_empty())?;
    if text.chars().count() > max {
        errors.push(FieldError::new(
            field,
            FieldCode::TooLong,
            format!("at most {max} characters"),
        ));
    }
    Some(text.to_owned())
}

/// Log a contribution
///
/// Logs time, equipment use or data. Contributors log their own; treasurers and
/// owners may log for any member. It is valued now, from the project's rate in
/// force on its date, with the rate's named method; a dataset's licence must
/// satisfy the project's licence policy. It is pending until reviewed.
#[operation(post "/projects/{project_id}/contributions", tag = "contributions",
    request_body = CreateContributionRequest, signed_in,
    responses(
        201 Contribution "The contribution, pending review",
        403 "`forbidden`: auditors, logging for someone else or allocating to a grant without the role",
        404 "`project_not_found`, `contribution_not_found` (supersedes), `grant_not_found` (grant)",
        409 "`already_corrected`, or idempotent request in flight",
        422 "`no_applicable_rate`, `licence_not_open`, `invalid_licence`, `invalid_quantity`, `invalid_unit`, `unknown_agent`, `invalid_date`, ...",
    ))]
pub async fn create_contribution(
    ProjectWrite { body, call }: ProjectWrite<CreateContributionRequest>,
) -> Result<HttpResponse, ApiError> {
    let ids = [
        ("agent", &body.agent),
        ("supersedes", &body.supersedes),
        ("grant", &body.grant),
    ];
    for (field, id) in ids {
        limits::check_optional_id(field, id.as_deref())?;
    }
    let contribution = check(&body);
    let grant = body.grant.clone();
    // Allocating to a grant's match is the ledger's owners' and treasurers'.
    let action = {
        let contribution = contribution.clone();
        let allocated = grant.is_some();
        move |caller: &Caller| match allocated {
            true => Action::WriteLedger,
            false => recording(&contribution, caller),
        }
    };
    call.run_as(action, move |conn, caller, project| {
        let recorder = caller.signed_in()?.id.clone();
        let row = match &grant {
            Some(grant) => {
                ops::in_kind::record_allocated(conn, project, &recorder, &contribution, grant)?.0
            }
            None => ops::contributions::record(conn, project, &recorder, &contribution)?,
        };
        created(conn, project, row)
    })
    .await
}

/// What recording `contribution` takes of the caller: recording their own
/// as a member, anyone's as an owner or treasurer.
pub fn recording(contribution: &NewContribution, caller: &Caller) -> Action {
    let own = caller
        .agent()
        .is_some_and(|me| me.id == contribution.agent_for(&me.id));
    Action::RecordContribution { own }
}

/// Checks what can be checked without the database.
pub fn check(request: &CreateContributionRequest) -> NewContribution {
    let kind = ContributionKind::from(request.kind);
    let unit = QuantityUnit::from(request.unit);
    let mut errors = Vec::new();
    let date = date_field("date", &request.date, &mut errors);
    if !kind.accepts(unit) {
        errors.push(FieldError::new(
            "unit",
            FieldCode::InvalidUnit,
            format!("{} is not counted in {}s", kind.as_str(), unit.as_str()),
        ));
    }
    let quantity = unit
        .parse_quantity(&request.quantity)
        .map_err(|e| errors.push(FieldError::new("quantity", FieldCode::InvalidQuantity, e)))
        .ok();
    let mut text = |field: &str, value: Option<&str>, max: usize| {
        optional_text(field, value, max, &mut errors)
    };
    let description = text(
        "description",
        Some(&request.description),
        CONTRIBUTION_TEXT_LENGTH_MAX,
    )
    .unwrap_or_default();
    let skill = text("skill", request.skill.as_deref(), SCOPE_LENGTH_MAX);
    let equipment = text("equipment", request.equipment.as_deref(), SCOPE_LENGTH_MAX);
    if kind == ContributionKind::Equipment && equipment.is_none() {
        errors.push(FieldError::new(
            "equipment",
            FieldCode::InvalidScope,
            "equipment use names the item",
        ));
    }
    check_dataset(request, kind, &mut errors);
    NewContribution {
        agent: request.agent.clone(),
        kind,
        unit,
        date,
        quantity,
        description,
        skill,
        equipment,
        dataset: request.dataset.as_ref().map(NewDataset::from),
        supersedes: request.supersedes.clone(),
        problems: errors.into_iter().map(FieldProblem::from).collect(),
    }
}

impl From<&Dataset> for NewDataset {
    fn from(dataset: &Dataset) -> Self {
        NewDataset {
            title: dataset.title.clone(),
            uri: dataset.uri.clone(),
            size_bytes: dataset.size_bytes,
            checksum: dataset.checksum.clone(),
            licence: dataset.licence.clone(),
        }
    }
}

/// The dataset a data contribution describes, and only a data contribution.
fn check_dataset(
    request: &CreateContributionRequest,
    kind: ContributionKind,
    errors: &mut Vec<FieldError>,
) {
    match (&request.dataset, kind) {
        (None, ContributionKind::Data) => errors.push(FieldError::new(
            "dataset",
            FieldCode::InvalidScope,
            "a data contribution describes its dataset",
        )),
        (Some(_), ContributionKind::Time | ContributionKind::Equipment) => {
            errors.push(FieldError::new(
                "dataset",
                FieldCode::InvalidScope,
                "only data contributions carry a dataset",
            ))
        }
        _ => {}
    }
    if let Some(dataset) = &request.dataset {
        let max = CONTRIBUTION_TEXT_LENGTH_MAX;
        if optional_text("dataset.title", Some(&dataset.title), max, errors).is_none() {
            let message = "a dataset has a title";
            errors.push(FieldError::new(
                "dataset.title",
                FieldCode::TooLong,
                message,
            ));
        }
        optional_text("dataset.uri", dataset.uri.as_deref(), max, errors);
        optional_text("dataset.checksum", dataset.checksum.as_deref(), max, errors);
        limits::check_length(
            "dataset.licence",
            &dataset.licence,
            LICENCE_LENGTH_MAX,
            errors,
        );
        if dataset.size_bytes.is_some_and(|size| size < 0) {
            let message = "a size is not negative";
            errors.push(FieldError::new(
                "dataset.size_bytes",
                FieldCode::InvalidQuantity,
                message,
            ));
        }
    }
}

/// List contributions
///
/// A project's contributions oldest first, with their valuation and review
/// state; filter by `agent`, `kind`, `status`, `from` and `to`.
#[operation(get "/projects/{project_id}/contributions", tag = "contributions", public,
    params(PageQuery, ContributionQuery),
    responses(
        200 ContributionPage "A page of contributions",
        400 "`invalid_query` (a filter or `limit`) or `invalid_cursor`",
    ))]
pub async fn list_contributions(
    page: ProjectPage,
    query: web::Query<ContributionQuery>,
) -> Result<web::Json<ContributionPage>, ApiError> {
    // The page is checked before the filters, as it always was.
    page_size(page.limit)?;
    decode_cursor(page.cursor.as_deref(), CursorKey::Id)?;
    let filter = filter_of(query.into_inner())?;
    let fetch = move |conn: &mut DbConnection, project: &Project, after: Option<&str>, limit| {
        let rows = db::contributions::list(conn, &project.id, &filter, after, limit)?;
        to_contributions(conn, rows)
    };
    let page = page
        .read(Action::ReadLedger, CursorKey::Id, fetch, |c| c.id.clone())
        .await?;
    Ok(web::Json(page.into()))
}

/// The filter a list's query asks for, checked.
fn filter_of(query: ContributionQuery) -> Result<ContributionFilter, ApiError> {
    limits::check_query("agent", query.agent.as_deref(), limits::ID_LENGTH_MAX)?;
    Ok(ContributionFilter {
        agent: query.agent,
        kind: query
            .kind
            .map(|k| ContributionKind::from(k).as_str().to_owned()),
        status: query.status.map(|s| {
            match s {
                ContributionStatusDto::Pending => ContributionStatus::Pending,
                ContributionStatusDto::Approved => ContributionStatus::Approved,
                ContributionStatusDto::Rejected => ContributionStatus::Rejected,
            }
            .as_str()
            .to_owned()
        }),
        from: query_date("from", query.from.as_deref())?,
        to: query_date("to", query.to.as_deref())?,
    })
}

/// Get a contribution
///
/// One contribution with its valuation (rate, method, value) and its reviews.
#[operation(get "/projects/{project_id}/contributions/{contribution_id}", tag = "contributions",
    public, params(id "contribution_id" "Contribution id"),
    responses(
        200 Contribution "The contribution",
        404 "`project_not_found` or `contribution_not_found`",
    ))]
pub async fn get_contribution(
    call: ProjectCall,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Contribution>, ApiError> {
    let (_, contribution_id) = path.into_inner();
    if contribution_id == "imports" {
        // `.../contributions/imports` is a POST-only resource, not an id.
        return Err(ApiError::MethodNotAllowed(
            "GET".to_owned(),
            "POST".to_owned(),
        ));
    }
    let item = call
        .read(Action::ReadLedger, move |conn, _, project| {
            let row = db::contributions::find(conn, &project.id, &contribution_id)?
                .ok_or(ApiError::NotFound(Resource::Contribution))?;
            one(conn, row)
        })
        .await?;
    Ok(web::Json(item))
}

/// Review a contribution
///
/// Approves or rejects a pending contribution (owners and treasurers, never
/// their own). It is approved once the project's number of distinct approvals
/// is reached; one rejection rejects it. Only approved contributions count in
/// distributions.
#[operation(post "/projects/{project_id}/contributions/{contribution_id}/reviews",
    tag = "contributions", request_body = CreateReviewRequest, signed_in,
    params(id "contribution_id" "Contribution id"),
    responses(
        201 Contribution "The contribution after the review",
        403 "`forbidden` (role) or `self_review`",
        404 "`project_not_found` or `contribution_not_found`",
        409 "`contribution_decided`, `already_reviewed`, or idempotent request in flight",
        422 "A rejection needs a `reason`",
    ))]
pub async fn create_review(
    ItemWrite {
        body,
        call,
        id: contribution_id,
    }: ItemWrite<CreateReviewRequest>,
) -> Result<HttpResponse, ApiError> {
    let reason = review_reason(&body)?;
    let decision = match body.decision {
        ReviewDecision::Approve => Decision::Approve,
        ReviewDecision::Reject => Decision::Reject,
    };
    call.run(Action::Review, move |conn, caller, project| {
        let reviewer = caller.signed_in()?.id.clone();
        let row = ops::contributions::review(
            conn,
            project,
            &reviewer,
            &contribution_id,
            decision,
            &reason,
        )?;
        created(conn, project, row)
    })
    .await
}

/// The 201 answer to a write that made or changed the contribution `row`
/// of `project` (recording it, reviewing it): the contribution as it reads
/// now, at its own location.
fn created(
    conn: &mut DbConnection,
    project: &Project,
    row: ContributionRow,
) -> Result<Reply, ApiError> {
    let contribution = one(conn, row)?;
    let location = in_project(
        &project.id,
        format_args!("contributions/{}", contribution.id),
    );
    Reply::created(location, &contribution)
}

/// A review's reason, trimmed: required to reject, and not too long.
fn review_reason(request: &CreateReviewRequest) -> Result<String, ApiError> {
    let reason = request.reason.trim().to_owned();
    if request.decision == ReviewDecision::Reject && reason.is_empty() {
        return Err(ApiError::field(
            "reason",
            FieldCode::TooLong,
            "a rejection says why",
        ));
    }
    if reason.chars().count() > REVIEW_REASON_LENGTH_MAX {
        return Err(ApiError::field(
            "reason",
            FieldCode::TooLong,
            format!("at most {REVIEW_REASON_LENGTH_MAX} characters"),
        ));
    }
    Ok(reason)
}
