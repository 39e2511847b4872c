//! `POST /v1/projects/{project_id}/contributions/imports`: the timesheet a
//! treasurer keeps in a spreadsheet, uploaded as CSV. The whole file is
//! checked before anything is written, and it is recorded in one database
//! transaction: every row or none. Every problem is reported with its line,
//! column and code.

use commons_ledger_macros::operation;
use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::access::{self, Caller};
use super::audit::Audit;
use super::call::{ProjectCall, audited};
use super::codes::FieldCode;
use super::contributions::{self, CreateContributionRequest, Dataset};
use super::dto::{ContributionKindDto, QuantityUnitDto};
use super::extract::{IdempotencyKey, media_type_is, request_fingerprint};
use super::openapi::InvalidIdempotencyKey;
use super::problem::{ApiError, FieldError, Problem, Problems, field_code};
use super::write::{self, Idempotency, Reply};
use crate::auth::{Authenticated, Credentials};
use crate::db::contributions::ContributionRow;
use crate::db::projects::Project;
use crate::db::{self, DbConnection};
use crate::domain::access::Action;
use crate::domain::agent::Email;
use crate::http::reply::in_project;
use crate::http::state::AppState;
use crate::ops::contributions::NewContribution;
use crate::ops::{self, FieldProblem};

/// Most data rows one import may carry.
pub const IMPORT_ROWS_MAX: usize = 10_000;
/// Largest CSV file one import may carry, in bytes.
pub const IMPORT_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Longest unknown column name repeated in a problem, in characters: the
/// known ones are far shorter, and a header of a few huge names must not
/// come back whole in the answer.
const COLUMN_ECHO_LENGTH_MAX: usize = 64;

/// The columns an import understands. `kind`, `date`, `quantity` and
/// `unit` are required; the others may be left out or left empty.
pub const IMPORT_COLUMNS: [&str; 13] = [
    "agent",
    "kind",
    "date",
    "quantity",
    "unit",
    "description",
    "skill",
    "equipment",
    "dataset_title",
    "dataset_uri",
    "dataset_licence",
    "dataset_size_bytes",
    "dataset_checksum",
];
const REQUIRED_COLUMNS: [&str; 4] = ["kind", "date", "quantity", "unit"];
/// What an import takes at least: recording one's own contributions (each
/// row is then authorized for its own agent).
const RECORD_OWN: Action = Action::RecordContribution { own: true };

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_contribution_import);
}

/// The outcome of an import: every row recorded, pending review.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContributionImport {
    /// Rows recorded.
    pub imported: usize,
    /// SHA-256 of the uploaded file, hex: the same file sent again by the
    /// same caller is answered with this same result and records nothing more.
    pub content_sha256: String,
    /// The recorded contributions, in the order of the file's rows.
    pub contributions: Vec<String>,
}

/// The schema of an uploaded CSV file sent as bytes.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct CsvFile(#[allow(dead_code)] Vec<u8>);

/// One data row, as read from the file.
#[derive(Clone)]
struct Row {
    line: u64,
    agent: Option<String>,
    checked: NewContribution,
}

/// Import contributions from CSV
///
/// Import contributions from a CSV timesheet (all rows or none).
///
/// Columns by header name, in any order: `agent` (the id or email of a member
/// of the project; default: the caller), `kind`, `date`, `quantity`, `unit`,
/// `description`, `skill`, `equipment`, `dataset_title`, `dataset_uri`,
/// `dataset_licence`, `dataset_size_bytes`, `dataset_checksum`. At most 10,000
/// rows and 4 MiB; at most 1,000 problems listed (`errors_omitted` counts the
/// rest). Without an `Idempotency-Key`, the file's SHA-256 is the key, per
/// caller: the same file imported twice into a project by the same caller is
/// recorded once.
#[operation(post "/projects/{project_id}/contributions/imports", tag = "contributions",
    request_body( description = "RFC 4180 CSV, UTF-8, with a header row; as `text/csv`, or as `application/octet-stream` for clients that send files only that way", content( (String = "text/csv", example = json!("kind,date,quantity,unit,skill,description\ntime,2026-03-02,12.5,hour,sensor calibration,calibrated the Croix-Rousse sensors\ntime,2026-03-09,4,hour,sensor calibration,checked the Part-Dieu sensors\n")), (CsvFile = "application/octet-stream", example = json!("kind,date,quantity,unit,skill,description\ntime,2026-03-02,12.5,hour,sensor calibration,calibrated the Croix-Rousse sensors\n")), ), ),
    signed_in,
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255, pattern = "^[!-~]+$", description = "Makes the request safe to retry (default: the file's SHA-256)")),
    responses(
        201 ContributionImport "Every row recorded, pending review",
        InvalidIdempotencyKey,
        403 "`forbidden`: auditors, or rows for someone else without the role",
        409 "`changed_during_computation` (rates, members or settings kept changing while the file was checked; retry), or idempotent request in flight",
        413 "`body_too_large`: more than 4 MiB",
        415 "The body is neither `text/csv` nor `application/octet-stream`",
        422 "Nothing recorded; `errors` lists every problem with its `row` and `column`: `malformed_csv`, `unknown_column`, `missing_column`, `too_many_rows`, `empty_import`, and the codes of a single contribution",
    ))]
pub async fn create_contribution_import(
    state: web::Data<AppState>,
    Authenticated(credentials): Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    key: IdempotencyKey,
) -> Result<HttpResponse, ApiError> {
    let project_id = path.into_inner();
    let audit = Audit::of(&req);
    let bytes = csv_body(&req, payload).await?;
    let content_sha256 = hex::encode(Sha256::digest(&bytes));
    let fingerprint = request_fingerprint(&req, &bytes);
    // Whoever may not record here learns nothing, not even of an earlier import.
    let call = ProjectCall {
        state: state.clone(),
        credentials: credentials.clone(),
        project_id: project_id.clone(),
    };
    call.read(RECORD_OWN, |_, _, _| Ok(())).await?;
    let (rows, errors) = parse(&bytes).map_err(ApiError::Problems)?;
    let sha = content_sha256.clone();
    let idempotency = idempotency(&credentials, &project_id, key, content_sha256, fingerprint);
    // Every row is checked, its agent resolved and its value computed in a
    // read snapshot, outside the writer; the write inserts the rows if
    // nothing they were computed from (rates, members, settings,
    // corrections) changed meanwhile.
    let (committer, committed_project) = (credentials.clone(), project_id.clone());
    write::run_computed(
        &state,
        Some(project_id.clone()),
        idempotency,
        move |conn| prepare_import(conn, &credentials, &project_id, &rows, &errors),
        move |conn, prepared: &Prepared| {
            let who = (&committer, committed_project.as_str());
            audited(
                conn,
                &audit,
                who,
                |_| RECORD_OWN,
                |conn, _, project| record_import(conn, project, prepared, &sha),
            )
        },
    )
    .await
}

/// Records the prepared rows of an import whose file hashes to `sha`.
fn record_import(
    conn: &mut DbConnection,
    project: &Project,
    prepared: &Prepared,
    sha: &str,
) -> Result<Reply, ApiError> {
    ops::contributions::record_all(conn, project, prepared.revision, &prepared.rows)?;
    // An import has no `GET` of its own: the contribution list holds what
    // it recorded.
    let location = in_project(&project.id, format_args!("contributions"));
    Reply::created(
        location,
        &ContributionImport {
            imported: prepared.rows.len(),
            content_sha256: sha.to_owned(),
            contributions: prepared.rows.iter().map(|row| row.id.clone()).collect(),
        },
    )
}

/// The key an import is recorded under: the caller's `Idempotency-Key`, or
/// else the file's hash. The hash is a key per caller and project: the same
/// timesheet sent by two contributors is two imports, each recording its
/// sender's rows, never a replay of the other's answer.
fn idempotency(
    credentials: &Credentials,
    project_id: &str,
    key: IdempotencyKey,
    content_sha256: String,
    fingerprint: String,
) -> Idempotency {
    let caller_scope = access::idempotency_scope(credentials);
    let content_scope = format!("{caller_scope}:project:{project_id}:contributions-import");
    match key.0 {
        Some(key) => Idempotency::chosen(caller_scope, Some(key), fingerprint),
        None => Idempotency::content(content_scope, content_sha256, fingerprint),
    }
}

/// The body of a CSV upload, within the import's size limit.
async fn csv_body(req: &HttpRequest, payload: web::Payload) -> Result<web::Bytes, ApiError> {
    let is_csv = media_type_is(req, |mime| {
        mime.eq_ignore_ascii_case("text/csv")
            || mime.eq_ignore_ascii_case("application/octet-stream")
    });
    if !is_csv {
        return Err(ApiError::UnsupportedMediaType(
            "text/csv (or application/octet-stream)",
        ));
    }
    match payload.to_bytes_limited(IMPORT_BYTES_MAX).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(error)) => Err(ApiError::MalformedJson(error.to_string())),
        Err(_) => Err(ApiError::PayloadTooLarge(IMPORT_BYTES_MAX)),
    }
}

/// Every row resolved, authorized and valued (reading only), with the
/// project revision they were read at; or every problem of the file.
fn prepare_import(
    conn: &mut DbConnection,
    credentials: &Credentials,
    project_id: &str,
    rows: &[Row],
    errors: &Problems,
) -> Result<Prepared, ApiError> {
    let caller = Caller::Agent(Caller::require(conn, credentials)?);
    let revision = db::projects::revision(conn, project_id)?;
    let mut errors = errors.clone();
    let mut prepared: Vec<ContributionRow> = Vec::with_capacity(rows.len());
    // The corrections made by earlier rows, by the contribution they correct.
    let mut corrected: HashMap<String, String> = HashMap::new();
    for row in rows.iter().cloned() {
        match prepare_row(conn, &caller, project_id, row) {
            Ok(contribution) => {
                if let Some(original) = &contribution.supersedes_id {
                    if let Some(earlier) = corrected.get(original) {
                        return Err(ApiError::AlreadyCorrected(earlier.clone()));
                    }
                    corrected.insert(original.clone(), contribution.id.clone());
                }
                prepared.push(contribution);
            }
            Err(RowError::Cells(cells)) => errors.extend(cells),
            Err(RowError::Fatal(error)) => return Err(error),
        }
    }
    if !errors.is_empty() {
        errors.sort_by_row();
        return Err(errors.into());
    }
    Ok(Prepared {
        rows: prepared,
        revision,
    })
}

/// An import's rows, ready to insert, and the project revision they were
/// computed at.
struct Prepared {
    rows: Vec<ContributionRow>,
    revision: i64,
}

enum RowError {
    Cells(Vec<FieldError>),
    Fatal(ApiError),
}

/// Resolves the row's agent, authorizes the caller to record it, and
/// prepares its contribution (reading only).
fn prepare_row(
    conn: &mut DbConnection,
    caller: &Caller,
    project_id: &str,
    mut row: Row,
) -> Result<ContributionRow, RowError> {
    let line = row.line;
    let cell = |column: &str, code: FieldCode, message: String| {
        RowError::Cells(vec![FieldError::cell(line, column, code, message)])
    };
    let cells = |problems: &[FieldProblem]| -> Result<Vec<FieldError>, RowError> {
        problems
            .iter()
            .map(|f| {
                let code = field_code(f).map_err(RowError::Fatal)?;
                Ok(FieldError::cell(
                    line,
                    &column_of(&f.field),
                    code,
                    &f.message,
                ))
            })
            .collect()
    };
    if let Some(agent) = row.agent.take() {
        match member_named(conn, project_id, &agent).map_err(|e| RowError::Fatal(e.into()))? {
            Some(member) => row.checked.agent = Some(member),
            None => {
                let mut found = vec![FieldError::cell(
                    line,
                    "agent",
                    FieldCode::UnknownAgent,
                    "no member of this project has this id or email",
                )];
                found.extend(cells(&row.checked.problems)?);
                return Err(RowError::Cells(found));
            }
        }
    }
    let action = contributions::recording(&row.checked, caller);
    let project = match access::authorize(conn, caller, project_id, action) {
        Ok(project) => project,
        Err(error @ ApiError::Forbidden) => {
            return Err(cell("agent", FieldCode::Forbidden, error.to_string()));
        }
        Err(error) => return Err(RowError::Fatal(error)),
    };
    let recorder = caller.signed_in().map_err(RowError::Fatal)?.id.as_str();
    match ops::contributions::prepare(conn, &project, recorder, &row.checked) {
        Ok(prepared) => Ok(prepared),
        Err(ops::Error::Invalid(problems)) => Err(RowError::Cells(cells(&problems)?)),
        Err(error @ ops::Error::UnknownAgent(_)) => {
            let error = ApiError::from(error);
            Err(cell("agent", FieldCode::UnknownAgent, error.to_string()))
        }
        Err(error @ ops::Error::Refused(ops::Refusal::NoApplicableRate)) => {
            let error = ApiError::from(error);
            Err(cell("kind", FieldCode::NoApplicableRate, error.to_string()))
        }
        Err(error) => Err(RowError::Fatal(error.into())),
    }
}

/// The member of the project an `agent` cell names, by id or by email
/// (ignoring case, as everywhere). Whoever is not a member is not found,
/// whether or not the instance knows them: the answer is the same
/// `unknown_agent` for an unregistered email and for another project's
/// member, so a file of guessed emails learns nothing.
fn member_named(
    conn: &mut DbConnection,
    project_id: &str,
    text: &str,
) -> diesel::QueryResult<Option<String>> {
    let agent = if text.contains('@') {
        match Email::parse(text) {
            Ok(email) => db::agents::find_by_email(conn, email.as_str())?,
            Err(_) => None,
        }
    } else {
        db::agents::find(conn, text)?
    };
    let Some(agent) = agent else {
        return Ok(None);
    };
    Ok(db::memberships::find(conn, project_id, &agent.id)?.map(|m| m.agent_id))
}

/// The CSV column of a contribution's field (`dataset.licence` is
/// `dataset_licence`; a missing dataset is reported on its title).
fn column_of(field: &str) -> String {
    match field {
        "dataset" => "dataset_title".to_owned(),
        other => other.replace('.', "_"),
    }
}

/// Reads the whole file: the rows that could be read, and the problems
/// found so far. A file whose header is unusable, or that has too many
/// rows, is refused outright.
fn parse(bytes: &[u8]) -> Result<(Vec<Row>, Problems), Problems> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header = match reader.headers() {
        Ok(header) => header.clone(),
        Err(error) => {
            return Err(vec![FieldError::cell(1, "", FieldCode::MalformedCsv, error)].into());
        }
    };
    let positions = columns(&header)?;
    let mut errors = Problems::new();
    let mut rows = Vec::new();
    let mut records = 0_usize;
    for record in reader.records() {
        records += 1;
        if records > IMPORT_ROWS_MAX {
            let line = match &record {
                Ok(record) => record.position(),
                Err(error) => error.position(),
            }
            .map_or(0, csv::Position::line);
            errors.push(FieldError::cell(
                line,
                "",
                FieldCode::TooManyRows,
                format!("an import carries at most {IMPORT_ROWS_MAX} rows"),
            ));
            // Refused whole: its rows are not tried against the database.
            return Err(errors);
        }
        match record_row(record, &positions) {
            // Its field problems are reported with the database's, later.
            Ok(row) => rows.push(row),
            Err(cells) => errors.extend(cells),
        }
    }
    if errors.is_empty() && rows.is_empty() {
        errors.push(FieldError::cell(
            2,
            "",
            FieldCode::EmptyImport,
            "the file has a header but no rows",
        ));
    }
    Ok((rows, errors))
}

/// One record of the file as a row, or what makes it none.
fn record_row(
    record: csv::Result<csv::StringRecord>,
    positions: &HashMap<String, usize>,
) -> Result<Row, Vec<FieldError>> {
    let record = record.map_err(|error| {
        let line = error.position().map_or(0, csv::Position::line);
        vec![FieldError::cell(line, "", FieldCode::MalformedCsv, error)]
    })?;
    let line = record.position().map_or(0, csv::Position::line);
    if record.iter().any(|cell| cell.contains('\0')) {
        let message = "a cell contains the NUL character (U+0000)";
        return Err(vec![FieldError::cell(
            line,
            "",
            FieldCode::MalformedCsv,
            message,
        )]);
    }
    let get = |column: &str| {
        positions
            .get(column)
            .and_then(|&i| record.get(i))
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    row_of(line, &get)
}

/// Where each known column is in the header, or every problem with it.
fn columns(header: &csv::StringRecord) -> Result<HashMap<String, usize>, Problems> {
    let mut errors = Problems::new();
    let mut positions = HashMap::new();
    for (index, name) in header.iter().enumerate() {
        let name = name.trim_start_matches('\u{feff}').to_ascii_lowercase();
        if !IMPORT_COLUMNS.contains(&name.as_str()) {
            let shown: String = name.chars().take(COLUMN_ECHO_LENGTH_MAX).collect();
            errors.push(FieldError::cell(
                1,
                &shown,
                FieldCode::UnknownColumn,
                format!("the columns are {}", IMPORT_COLUMNS.join(", ")),
            ));
        } else if positions.insert(name.clone(), index).is_some() {
            errors.push(FieldError::cell(
                1,
                &name,
                FieldCode::DuplicateColumn,
                "the column appears twice",
            ));
        }
    }
    for required in REQUIRED_COLUMNS {
        if !positions.contains_key(required) {
            errors.push(FieldError::cell(
                1,
                required,
                FieldCode::MissingColumn,
                "a required column is missing",
            ));
        }
    }
    if errors.is_empty() {
        Ok(positions)
    } else {
        Err(errors)
    }
}

/// The row's dataset, if any of its columns has a value.
fn dataset_of(
    line: u64,
    get: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<FieldError>,
) -> Option<Dataset> {
    let size_bytes = get("dataset_size_bytes").and_then(|s| {
        s.parse::<i64>().ok().or_else(|| {
            let message = "a whole number of bytes";
            errors.push(FieldError::cell(
                line,
                "dataset_size_bytes",
                FieldCode::InvalidQuantity,
                message,
            ));
            None
        })
    });
    let columns = [
        "dataset_title",
        "dataset_uri",
        "dataset_licence",
        "dataset_size_bytes",
        "dataset_checksum",
    ];
    columns.iter().any(|c| get(c).is_some()).then(|| Dataset {
        title: get("dataset_title").unwrap_or_default(),
        uri: get("dataset_uri"),
        size_bytes,
        checksum: get("dataset_checksum"),
        licence: get("dataset_licence").unwrap_or_default(),
    })
}

/// A cell naming one of an enumeration's values, in any case.
fn enum_cell<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(text.to_ascii_lowercase())).ok()
}

/// One row as a contribution request, checked as far as it can be
/// without the database.
fn row_of(line: u64, get: &dyn Fn(&str) -> Option<String>) -> Result<Row, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut required = |column: &str| {
        get(column).or_else(|| {
            let message = "this column needs a value";
            errors.push(FieldError::cell(line, column, FieldCode::Required, message));
            None
        })
    };
    let kind = required("kind");
    let date = required("date");
    let quantity = required("quantity");
    let unit = required("unit");
    let mut cell = |column: &str, code: FieldCode, message: &str| {
        errors.push(FieldError::cell(line, column, code, message));
    };
    let kind = kind.and_then(|k| {
        enum_cell::<ContributionKindDto>(&k).or_else(|| {
            cell(
                "kind",
                FieldCode::InvalidKind,
                "one of time, equipment, data",
            );
            None
        })
    });
    let unit = unit.and_then(|u| {
        enum_cell::<QuantityUnitDto>(&u).or_else(|| {
            cell("unit", FieldCode::InvalidUnit, "one of hour, day, dataset");
            None
        })
    });
    let dataset = dataset_of(line, get, &mut errors);
    let (Some(kind), Some(date), Some(quantity), Some(unit), true) =
        (kind, date, quantity, unit, errors.is_empty())
    else {
        return Err(errors);
    };
    let request = CreateContributionRequest {
        agent: None,
        kind,
        date,
        quantity,
        unit,
        description: get("description").unwrap_or_default(),
        skill: get("skill"),
        equipment: get("equipment"),
        dataset,
        supersedes: None,
        grant: None,
    };
    let checked = contributions::check(&request);
    Ok(Row {
        line,
        agent: get("agent"),
        checked,
    })
}
