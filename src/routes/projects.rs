//! `/v1/projects`: each project keeps its own ledger in one currency of
//! account. Whoever creates a project becomes its owner.

use actix_web::{HttpResponse, get, patch, post, web};
use commons_ledger_macros::operation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::access::Caller;
use super::audit::{Change, state_of};
use super::call::{ProjectCall, ProjectChange, SignedInWrite};
use super::codes::FieldCode;
use super::dto::PageQuery;
use super::dto::page_type;
use super::extract::{CursorKey, JsonBody, next_cursor};
use super::openapi::OwnersOnly;
use super::problem::{ApiError, FieldError, Problem};
use super::read;
use super::write::Reply;
use crate::auth::Credentials;
use crate::config::ProjectCreation;
use crate::db::projects::{SettingsChange, Visibility};
use crate::db::{self};
use crate::domain::access::{Action, Role};
use crate::domain::licence::LicencePolicy;
use crate::domain::project::ContributorNames;
use crate::domain::project::Project as StoredProject;
use crate::domain::{Amount, Unit, UnitKind};
use crate::http::state::AppState;

/// Longest project name, in characters.
pub const PROJECT_NAME_LENGTH_MAX: usize = 200;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_project)
        .service(list_projects)
        .service(get_project)
        .service(update_project);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "OpenAir Lyon", "currency": "EUR", "public": true, "licence_policy": "open", "four_eyes_above": "1000.00"}))]
pub struct CreateProjectRequest {
    /// Display name, 1 to 200 characters.
    #[schema(example = "OpenAir Lyon", max_length = 200)]
    pub name: String,
    /// The project's main currency (ISO 4217), e.g. `EUR`.
    #[schema(example = "EUR", max_length = 8)]
    pub currency: String,
    /// Whether the ledger, balances and reports are readable without a token.
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub licence_policy: Option<LicencePolicyDto>,
    #[serde(default)]
    pub allow_unvalued: Option<bool>,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10)]
    pub approvals_required: Option<i32>,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10)]
    pub distribution_approvals_required: Option<i32>,
    /// Four eyes on large sums, in the project's currency: an expense or a
    /// payout above it (or in another currency) waits for a second owner or
    /// treasurer. Default: none.
    #[serde(default)]
    #[schema(example = "1000.00", pattern = r"^[0-9]+(\.[0-9]+)?$", max_length = 40)]
    pub four_eyes_above: Option<String>,
    #[serde(default)]
    pub contributor_names: Option<ContributorNamesDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"public": true, "approvals_required": 2, "contributor_names": "initials"}))]
pub struct UpdateProjectRequest {
    /// New display name, 1 to 200 characters.
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// Whether the ledger, balances and reports are readable without a token.
    pub public: Option<bool>,
    pub licence_policy: Option<LicencePolicyDto>,
    pub allow_unvalued: Option<bool>,
    /// Distinct approvals (by owners or treasurers) a contribution needs, 1 to 10.
    #[schema(minimum = 1, maximum = 10)]
    pub approvals_required: Option<i32>,
    /// Distinct approvals a distribution run needs before execution, 1 to 10
    /// (with 2 or more, the run's author cannot approve it).
    #[schema(minimum = 1, maximum = 10)]
    pub distribution_approvals_required: Option<i32>,
    /// Four eyes on large sums, in the project's currency: an expense or a
    /// payout above it (or in another currency) waits for a second owner or
    /// treasurer; null removes
    /// the threshold (payouts to their own recorder and releases always
    /// wait).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable, example = "1000.00", pattern = r"^[0-9]+(\.[0-9]+)?$", max_length = 40)]
    pub four_eyes_above: Option<Option<String>>,
    pub contributor_names: Option<ContributorNamesDto>,
}

/// A field that may be set to null: present (`Some`, null or not) or
/// absent (`None`, by `default`).
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// The `four_eyes_above` a change asks for, in minor units of the
/// project's currency `unit`.
fn four_eyes(asked: &Option<Option<String>>, unit: &Unit) -> Result<Option<Option<i64>>, ApiError> {
    match asked {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(text)) => Amount::parse(text, unit)
            .map(|amount| Some(Some(amount.minor())))
            .map_err(|e| {
                ApiError::Validation(vec![FieldError::new(
                    "four_eyes_above",
                    FieldCode::from(&e),
                    &e,
                )])
            }),
    }
}

/// `open` requires data licences conformant to the Open Definition (no NC, no ND).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LicencePolicyDto {
    Any,
    Open,
}

impl From<LicencePolicyDto> for LicencePolicy {
    fn from(policy: LicencePolicyDto) -> Self {
        match policy {
            LicencePolicyDto::Any => LicencePolicy::Any,
            LicencePolicyDto::Open => LicencePolicy::Open,
        }
    }
}

/// How contributors are named to readers of the project's books
/// (`GET .../contributors`, the public page): `names`, `initials`
/// ("C. D."), or `hidden` (the default: readers see no names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContributorNamesDto {
    Hidden,
    Initials,
    Names,
}

impl From<ContributorNamesDto> for ContributorNames {
    fn from(names: ContributorNamesDto) -> Self {
        match names {
            ContributorNamesDto::Hidden => ContributorNames::Hidden,
            ContributorNamesDto::Initials => ContributorNames::Initials,
            ContributorNamesDto::Names => ContributorNames::Names,
        }
    }
}

impl From<ContributorNames> for ContributorNamesDto {
    fn from(names: ContributorNames) -> Self {
        match names {
            ContributorNames::Hidden => ContributorNamesDto::Hidden,
            ContributorNames::Initials => ContributorNamesDto::Initials,
            ContributorNames::Names => ContributorNamesDto::Names,
        }
    }
}

/// Largest number of approvals a project may require.
pub const APPROVALS_REQUIRED_MAX: i32 = 10;

impl CreateProjectRequest {
    /// What it asks for beyond the currency, as a change to a new project.
    fn changes(&self) -> UpdateProjectRequest {
        UpdateProjectRequest {
            name: Some(self.name.clone()),
            public: Some(self.public),
            licence_policy: self.licence_policy,
            allow_unvalued: self.allow_unvalued,
            approvals_required: self.approvals_required,
            distribution_approvals_required: self.distribution_approvals_required,
            four_eyes_above: self.four_eyes_above.clone().map(Some),
            contributor_names: self.contributor_names,
        }
    }
}

/// The name and the settings a change asks for, checked field by field.
fn parse_changes(
    request: &UpdateProjectRequest,
    errors: &mut Vec<FieldError>,
) -> (Option<String>, SettingsChange) {
    let name = request.name.as_deref().map(|name| parse_name(name, errors));
    for (field, value) in [
        ("approvals_required", request.approvals_required),
        (
            "distribution_approvals_required",
            request.distribution_approvals_required,
        ),
    ] {
        if value.is_some_and(|n| !(1..=APPROVALS_REQUIRED_MAX).contains(&n)) {
            errors.push(FieldError::new(
                field,
                FieldCode::InvalidSetting,
                format!("between 1 and {APPROVALS_REQUIRED_MAX}"),
            ));
        }
    }
    let settings = SettingsChange {
        licence_policy: request.licence_policy.map(LicencePolicy::from),
        allow_unvalued: request.allow_unvalued,
        approvals_required: request.approvals_required,
        distribution_approvals_required: request.distribution_approvals_required,
        four_eyes_above: None,
        contributor_names: request.contributor_names.map(ContributorNames::from),
    };
    (name, settings)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Project {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    pub currency: String,
    pub public: bool,
    /// What data contributions' licences must be.
    pub licence_policy: LicencePolicyDto,
    /// Whether contributions with no applicable rate are accepted, unvalued.
    pub allow_unvalued: bool,
    /// Distinct approvals a contribution needs.
    pub approvals_required: i32,
    /// Distinct approvals a distribution run needs.
    pub distribution_approvals_required: i32,
    /// Expenses and payouts above this amount (in the project's currency)
    /// wait for a second owner or treasurer; null: no threshold.
    pub four_eyes_above: Option<String>,
    /// The books are closed through this date (`POST .../closings`); null
    /// while nothing is closed.
    #[schema(format = Date)]
    pub closed_through: Option<String>,
    pub contributor_names: ContributorNamesDto,
    /// When the project was created (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub created_at: String,
}

page_type!(
    ProjectPage,
    Project,
    " Pass as `cursor` to get the next page; null on the last page."
);

impl From<StoredProject> for Project {
    /// The project as shown (its settings were typed as storage read them:
    /// a licence policy the service never writes is a logged 500 there,
    /// never "any").
    fn from(project: StoredProject) -> Self {
        let four_eyes_above = project.four_eyes_above.map(|minor| {
            let scale = Unit::lookup(&project.currency).map_or(2, |unit| unit.scale());
            crate::domain::money::format_minor_wide(i128::from(minor), scale)
        });
        Project {
            four_eyes_above,
            closed_through: project.closed_through.map(|date| date.to_string()),
            contributor_names: project.contributor_names.into(),
            id: project.id.into_string(),
            name: project.name,
            currency: project.currency,
            public: project.public,
            licence_policy: match project.licence_policy {
                LicencePolicy::Open => LicencePolicyDto::Open,
                LicencePolicy::Any => LicencePolicyDto::Any,
            },
            allow_unvalued: project.allow_unvalued,
            approvals_required: project.approvals_required,
            distribution_approvals_required: project.distribution_approvals_required,
            created_at: db::format_timestamp(project.created_at),
        }
    }
}

fn parse_name(text: &str, errors: &mut Vec<FieldError>) -> String {
    let name = text.trim().to_owned();
    if name.is_empty() || name.chars().count() > PROJECT_NAME_LENGTH_MAX {
        errors.push(FieldError::new(
            "name",
            FieldCode::InvalidName,
            format!("a project name is 1 to {PROJECT_NAME_LENGTH_MAX} characters"),
        ));
    }
    name
}

/// The project's currency: a currency, not another unit.
fn parse_currency(text: &str, errors: &mut Vec<FieldError>) -> Option<Unit> {
    let unit = Unit::lookup(text)
        .map_err(|e| errors.push(FieldError::new("currency", FieldCode::UnknownCurrency, e)))
        .ok()?;
    if unit.kind() != UnitKind::Currency {
        errors.push(FieldError::new(
            "currency",
            FieldCode::UnknownCurrency,
            format!("`{}` is not a currency", unit.code()),
        ));
        return None;
    }
    Some(unit)
}

/// Create a project
///
/// Creates a project with its own ledger; the caller becomes its owner. On an
/// instance started with `--project-creation administrators`, only
/// administrators may.
#[operation(post "/projects", tag = "projects", request_body = CreateProjectRequest, signed_in,
    responses(
        201 Project "The project",
        403 "`admin_only`: this instance lets administrators alone create projects",
        422 "Invalid fields (`unknown_currency`, `invalid_name`) or `idempotency_key_reused`",
    ))]
pub async fn create_project(
    write: SignedInWrite<CreateProjectRequest>,
) -> Result<HttpResponse, ApiError> {
    let SignedInWrite { body, call } = write;
    let mut errors = Vec::new();
    let changes = body.changes();
    let (name, mut settings) = parse_changes(&changes, &mut errors);
    let currency = parse_currency(&body.currency, &mut errors);
    let (Some(name), Some(currency), true) = (name, currency, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    settings.four_eyes_above = four_eyes(&changes.four_eyes_above, &currency)?;
    let project_creation = call.signed_in.state.settings.project_creation;
    call.run_in_project(move |conn, owner| {
        if project_creation == ProjectCreation::Administrators && !owner.is_admin {
            return Err(ApiError::AdminOnly("create projects on this instance"));
        }
        let id = uuid::Uuid::now_v7().to_string();
        db::projects::insert(conn, &id, &name, &currency, body.public)?;
        let row = db::projects::update_settings(conn, &id, &settings)?;
        db::memberships::insert(conn, &row.id, &owner.id, Role::Owner)?;
        let reply = Reply::created(format!("/v1/projects/{id}"), &Project::from(row))?;
        Ok((id, reply))
    })
    .await
}

/// List projects
///
/// The projects the caller may see, oldest first: members see theirs, everyone
/// sees public ones, administrators see all. Anonymous callers see public
/// projects.
#[operation(get "/projects", tag = "projects", public, params(PageQuery),
    responses(200 ProjectPage "A page of projects"))]
pub async fn list_projects(
    state: web::Data<AppState>,
    credentials: Credentials,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ProjectPage>, ApiError> {
    let (limit, after) = query.check(CursorKey::Id)?;
    let rows = read(&state, move |conn| {
        let caller = Caller::resolve(conn, &credentials)?;
        let visibility = match &caller {
            Caller::Agent(agent) if agent.is_admin => Visibility::All,
            Caller::Agent(agent) => Visibility::MemberOrPublic(agent.id.to_string()),
            Caller::Anonymous => Visibility::Public,
        };
        Ok(db::projects::list(
            conn,
            &visibility,
            after.as_deref(),
            limit,
        )?)
    })
    .await?;
    let next_cursor = next_cursor(&rows, limit, |row| row.id.to_string());
    Ok(web::Json(ProjectPage {
        items: rows.into_iter().map(Project::from).collect(),
        next_cursor,
    }))
}

/// Get a project
///
/// One project with its currency, visibility and settings. A private project
/// answers 404 to anyone who is not a member or an administrator.
#[operation(get "/projects/{project_id}", tag = "projects", public,
    responses(200 Project "The project"))]
pub async fn get_project(call: ProjectCall) -> Result<web::Json<Project>, ApiError> {
    let row = call
        .read(Action::ReadLedger, |_, _, project| Ok(project.clone()))
        .await?;
    Ok(web::Json(Project::from(row)))
}

/// Update a project
///
/// Renames a project, changes its visibility or its settings (four-eyes
/// threshold, approvals required, licence policy, how contributors are
/// named to its readers). Owners only. The previous
/// values are kept in the audit trail.
#[operation(patch "/projects/{project_id}", tag = "projects", request_body = UpdateProjectRequest,
    signed_in,
    responses(
        200 Project "The updated project",
        OwnersOnly,
        422 "`invalid_name`, `invalid_setting`",
    ))]
pub async fn update_project(
    change: ProjectChange,
    body: JsonBody<UpdateProjectRequest>,
) -> Result<web::Json<Project>, ApiError> {
    let request = body.value;
    let mut errors = Vec::new();
    let (name, settings) = parse_changes(&request, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let row = change
        .write(Action::UpdateProject, move |conn, _, project| {
            let before = Some(state_of(&Project::from(project.clone()))?);
            let mut settings = settings.clone();
            if request.four_eyes_above.is_some() {
                let unit = db::projects::stored_unit(conn, &project.currency)?
                    .ok_or_else(|| ApiError::internal("the project's currency is not stored"))?;
                settings.four_eyes_above = four_eyes(&request.four_eyes_above, &unit)?;
            }
            db::projects::update(conn, &project.id, name.as_deref(), request.public)?;
            let row = db::projects::update_settings(conn, &project.id, &settings)?;
            let after = Project::from(row);
            Ok(Change { before, after })
        })
        .await?;
    Ok(web::Json(row))
}
