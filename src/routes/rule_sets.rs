//! `/v1/projects/{project_id}/rule-sets`: immutable, versioned redistribution
//! rules. A change is a new version; runs name the version they used. The
//! JSON format is documented in docs/distributions.md.

use commons_ledger_macros::operation;
use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, post, web};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::call::{ProjectCall, ProjectPage, ProjectWrite};
use super::codes::{FieldCode, Resource};
use super::dto::page_type;
use super::extract::decode_number_cursor;
use super::limits;
use super::openapi::OwnersAndTreasurers;
use super::problem::{ApiError, FieldError, Problem};
use super::write::Reply;
use crate::db::distributions::{RuleSetRow, StoredRuleSet};
use crate::db::projects::Project;
use crate::db::{self};
use crate::domain::access::Action;
use crate::domain::account::ACCOUNT_NAME_LENGTH_MAX;
use crate::domain::allocation::{Base, Cap, Recipients, Residue, RuleSet, Share, Step};
use crate::domain::money::AMOUNT_TEXT_LENGTH_MAX;
use crate::http::reply::in_project;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_rule_set)
        .service(list_rule_sets)
        .service(get_rule_set);
}

/// Which base a share is taken of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BaseDto {
    Total,
    Remaining,
}

/// How much a step takes: a percentage of the total or of what remains, or a fixed amount.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "type", deny_unknown_fields)]
pub enum ShareDto {
    Percentage {
        /// 0 to 100, at most 4 decimals; a decimal string of at most 40 characters.
        #[schema(example = "10", pattern = r"^[0-9]+(\.[0-9]+)?$", max_length = 40)]
        percent: String,
        of: BaseDto,
    },
    Fixed {
        /// Positive, at most the project currency's decimals and 10^15 of its
        /// minor units (10000000000000.00 EUR); at most 40 characters.
        #[schema(example = "100.00", pattern = r"^[0-9]+(\.[0-9]+)?$", max_length = 40)]
        amount: String,
    },
}

/// A per-person cap.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "type", deny_unknown_fields)]
pub enum CapDto {
    Percentage {
        /// 0 to 100 (of the step's amount), at most 4 decimals; at most 40 characters.
        #[schema(example = "40", pattern = r"^[0-9]+(\.[0-9]+)?$", max_length = 40)]
        percent: String,
    },
    Amount {
        /// Positive, at most the project currency's decimals and 10^15 of its
        /// minor units; at most 40 characters.
        #[schema(example = "500.00", pattern = r"^[0-9]+(\.[0-9]+)?$", max_length = 40)]
        amount: String,
    },
}

/// Who receives a step: an account, contributors pro rata to weighted value, or an equal split.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "type", deny_unknown_fields)]
pub enum RecipientsDto {
    Account {
        #[schema(example = "reserve", max_length = 200)]
        account: String,
    },
    ProRata {
        /// Weight per contribution kind (`time`, `equipment`, `data`); a missing kind weighs 0.
        #[schema(value_type = KindWeights)]
        weights: BTreeMap<String, String>,
        cap: Option<CapDto>,
        /// Lines below this amount are dropped to residue. Positive, at most
        /// the project currency's decimals and 10^15 of its minor units; at
        /// most 40 characters.
        #[schema(example = "5.00", pattern = r"^[0-9]+(\.[0-9]+)?$", max_length = 40)]
        minimum: Option<String>,
    },
    EqualSplit {
        cap: Option<CapDto>,
        /// Lines below this amount are dropped to residue. Positive, at most
        /// the project currency's decimals and 10^15 of its minor units; at
        /// most 40 characters.
        #[schema(example = "5.00", pattern = r"^[0-9]+(\.[0-9]+)?$", max_length = 40)]
        minimum: Option<String>,
    },
}

/// The schema of a pro-rata step's weights: a decimal string per kind of
/// contribution, 0 to 1000 with at most 4 decimals; a missing kind weighs 0.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KindWeights {
    #[schema(example = "1", pattern = r"^[0-9]+(\.[0-9]+)?$", max_length = 40)]
    pub time: Option<String>,
    #[schema(example = "1", pattern = r"^[0-9]+(\.[0-9]+)?$", max_length = 40)]
    pub equipment: Option<String>,
    #[schema(example = "1", pattern = r"^[0-9]+(\.[0-9]+)?$", max_length = 40)]
    pub data: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepDto {
    pub share: ShareDto,
    pub to: RecipientsDto,
}

/// Where caps, minimums and rounding leave what they do not place.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "type", deny_unknown_fields)]
pub enum ResidueDto {
    Pool,
    Account {
        #[schema(max_length = 200)]
        account: String,
    },
    NextRun,
}

/// A waterfall of steps and where residue goes. Example: rule set v1 of the
/// OpenAir Lyon story.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "steps": [
        {"share": {"type": "percentage", "percent": "10", "of": "total"},
         "to": {"type": "account", "account": "reserve"}},
        {"share": {"type": "percentage", "percent": "100", "of": "remaining"},
         "to": {"type": "pro_rata", "weights": {"time": "1", "equipment": "1", "data": "1"},
                "cap": {"type": "percentage", "percent": "40"}}}
    ],
    "residue": {"type": "pool"}
}))]
pub struct CreateRuleSetRequest {
    /// The waterfall, applied in order: 1 to 20 steps.
    #[schema(min_items = 1, max_items = 20)]
    pub steps: Vec<StepDto>,
    pub residue: ResidueDto,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RuleSetVersion {
    pub version: i32,
    pub steps: Vec<StepDto>,
    pub residue: ResidueDto,
    #[schema(format = Uuid)]
    pub created_by: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

page_type!(RuleSetPage, RuleSetVersion);

/// A new version's decimal: plain digits, optionally a point and more
/// digits (`DECIMAL_TEXT_PATTERN`), at most `AMOUNT_TEXT_LENGTH_MAX`
/// characters, held exactly (never rounded). Stored versions are read by
/// `db::distributions::StoredRuleSet`.
fn decimal(field: &str, text: &str, errors: &mut Vec<FieldError>) -> Decimal {
    let plain = text.len() <= AMOUNT_TEXT_LENGTH_MAX
        && match text.split_once('.') {
            Some((whole, fraction)) => all_digits(whole) && all_digits(fraction),
            None => all_digits(text),
        };
    let parsed = Decimal::from_str_exact(text).ok().filter(|_| plain);
    match parsed {
        Some(value) => value,
        None => {
            errors.push(FieldError::new(
                field,
                FieldCode::InvalidRuleSet,
                format!(
                    "`{text}` is not a decimal number such as \"12.5\": digits, optionally a point and more digits, at most {AMOUNT_TEXT_LENGTH_MAX} characters"
                ),
            ));
            Decimal::ZERO
        }
    }
}

fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn cap(field: &str, dto: &Option<CapDto>, errors: &mut Vec<FieldError>) -> Option<Cap> {
    dto.as_ref().map(|cap| match cap {
        CapDto::Percentage { percent } => Cap::Percentage {
            percent: decimal(field, percent, errors),
        },
        CapDto::Amount { amount } => Cap::Amount {
            amount: decimal(field, amount, errors),
        },
    })
}

impl CreateRuleSetRequest {
    /// The domain rule set of a new version, or every field that is not a
    /// plain decimal.
    pub fn parse(&self) -> Result<RuleSet, ApiError> {
        let mut errors = Vec::new();
        let steps = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let at = |name: &str| format!("steps[{i}].{name}");
                let share = match &step.share {
                    ShareDto::Percentage { percent, of } => Share::Percentage {
                        percent: decimal(&at("share.percent"), percent, &mut errors),
                        of: if *of == BaseDto::Total {
                            Base::Total
                        } else {
                            Base::Remaining
                        },
                    },
                    ShareDto::Fixed { amount } => Share::Fixed {
                        amount: decimal(&at("share.amount"), amount, &mut errors),
                    },
                };
                let to = match &step.to {
                    RecipientsDto::Account { account } => {
                        limits::check_length(
                            &at("to.account"),
                            account,
                            ACCOUNT_NAME_LENGTH_MAX,
                            &mut errors,
                        );
                        Recipients::Account {
                            account: account.clone(),
                        }
                    }
                    RecipientsDto::ProRata {
                        weights,
                        cap: c,
                        minimum,
                    } => Recipients::ProRata {
                        weights: weights
                            .iter()
                            .map(|(k, v)| {
                                (
                                    k.clone(),
                                    decimal(&at(&format!("to.weights.{k}")), v, &mut errors),
                                )
                            })
                            .collect(),
                        cap: cap(&at("to.cap"), c, &mut errors),
                        minimum: minimum
                            .as_deref()
                            .map(|m| decimal(&at("to.minimum"), m, &mut errors)),
                    },
                    RecipientsDto::EqualSplit { cap: c, minimum } => Recipients::EqualSplit {
                        cap: cap(&at("to.cap"), c, &mut errors),
                        minimum: minimum
                            .as_deref()
                            .map(|m| decimal(&at("to.minimum"), m, &mut errors)),
                    },
                };
                Step { share, to }
            })
            .collect();
        let residue = match &self.residue {
            ResidueDto::Pool => Residue::Pool,
            ResidueDto::Account { account } => {
                limits::check_length(
                    "residue.account",
                    account,
                    ACCOUNT_NAME_LENGTH_MAX,
                    &mut errors,
                );
                Residue::Account {
                    account: account.clone(),
                }
            }
            ResidueDto::NextRun => Residue::NextRun,
        };
        if errors.is_empty() {
            Ok(RuleSet { steps, residue })
        } else {
            Err(ApiError::Validation(errors))
        }
    }
}

fn to_version(row: RuleSetRow) -> Result<RuleSetVersion, ApiError> {
    let stored = StoredRuleSet::parse(&row.definition)?;
    // Version 1 of the stored shape is the request's shape.
    let body: CreateRuleSetRequest = serde_json::to_value(&stored)
        .and_then(serde_json::from_value)
        .map_err(|e| ApiError::internal_from("showing a stored rule set", e))?;
    Ok(RuleSetVersion {
        version: row.version,
        steps: body.steps,
        residue: body.residue,
        created_by: row.created_by,
        created_at: db::format_timestamp(row.created_at),
    })
}

/// What a new version stores: the request's decimal texts as given.
fn stored(request: &CreateRuleSetRequest) -> Result<StoredRuleSet, ApiError> {
    // Version 1 of the stored shape is the request's shape.
    serde_json::to_value(request)
        .and_then(serde_json::from_value)
        .map_err(|e| ApiError::internal_from("storing a rule set", e))
}

/// Add a rule set version
///
/// Adds a redistribution rule set version (owners and treasurers): a waterfall
/// of steps (fixed share, pro rata by value, equal split, caps, weights by
/// kind). Percentages above 100, weights above 1000, amounts above the largest
/// amount (10^15 minor units), unknown accounts and an empty waterfall are
/// refused, field by field.
#[operation(post "/projects/{project_id}/rule-sets", tag = "distributions",
    request_body = CreateRuleSetRequest, signed_in,
    responses(
        201 RuleSetVersion "The new version",
        OwnersAndTreasurers,
        422 "`invalid_rule_set` with every offending field: a percentage outside 0 to 100, a weight outside 0 to 1000, more than 4 decimals, an amount (fixed share, cap, minimum) not positive, with more decimals than the currency or above 10^15 minor units, a decimal string that is not plain or longer than 40 characters",
    ))]
pub async fn create_rule_set(
    ProjectWrite { body, call }: ProjectWrite<CreateRuleSetRequest>,
) -> Result<HttpResponse, ApiError> {
    let rules = body.parse()?;
    call.run(Action::WriteLedger, move |conn, caller, project| {
        let scale = super::stored_units(conn)?
            .get(&project.currency)
            .map_or(2, crate::domain::Unit::scale);
        let accounts: Vec<String> = db::accounts::list(conn, &project.id, None, None, 10_000)?
            .into_iter()
            .map(|a| a.name)
            .collect();
        rules
            .validate(scale, |name| accounts.iter().any(|a| a == name))
            .map_err(|errors| {
                ApiError::Validation(
                    errors
                        .into_iter()
                        .map(|e| FieldError::new(e.field, FieldCode::InvalidRuleSet, e.reason))
                        .collect(),
                )
            })?;
        db::projects::lock(conn, &project.id)?;
        let row = RuleSetRow {
            project_id: project.id.to_string(),
            version: db::distributions::latest_version(conn, &project.id)? + 1,
            definition: stored(&body)?.to_json()?,
            created_by: caller.signed_in()?.id.to_string(),
            created_at: db::now(),
        };
        db::distributions::insert_rule_set(conn, &row)?;
        let version = to_version(row)?;
        let location = in_project(&project.id, format_args!("rule-sets/{}", version.version));
        Reply::created(location, &version)
    })
    .await
}

/// List rule set versions
///
/// A project's redistribution rule set versions, oldest first. A version never
/// changes once added.
#[operation(get "/projects/{project_id}/rule-sets", tag = "distributions", public,
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 1000), ("cursor" = Option<String>, Query, min_length = 1)),
    responses(200 RuleSetPage "A page of versions"))]
pub async fn list_rule_sets(page: ProjectPage) -> Result<web::Json<RuleSetPage>, ApiError> {
    let page = page.check(decode_number_cursor::<i32>)?;
    let fetch = |conn: &mut db::DbConnection, project: &Project, after, limit| {
        db::distributions::rule_sets(conn, &project.id, after, limit)?
            .into_iter()
            .map(to_version)
            .collect::<Result<Vec<_>, _>>()
    };
    let page = page
        .read(Action::ReadLedger, fetch, |v| v.version.to_string())
        .await?;
    Ok(web::Json(page.into()))
}

/// Get a rule set version
///
/// One rule set version with its steps.
#[operation(get "/projects/{project_id}/rule-sets/{version}", tag = "distributions", public,
    params(("version" = i32, Path, description = "Version, from 1")),
    responses(
        200 RuleSetVersion "The version",
        400 "`invalid_path`",
        404 "`project_not_found` or `rule_set_not_found`",
    ))]
pub async fn get_rule_set(
    call: ProjectCall,
    path: web::Path<(String, i32)>,
) -> Result<web::Json<RuleSetVersion>, ApiError> {
    call.read_item(path, |conn, project, version| {
        let row = db::distributions::rule_set(conn, &project.id, version)?
            .ok_or(ApiError::NotFound(Resource::RuleSet))?;
        to_version(row)
    })
    .await
}
