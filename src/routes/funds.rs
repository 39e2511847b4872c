//! What the money endpoints (grants, expenses, payouts, exchanges) share
//! when they check a request: free text, account-name segments and the
//! reason of a rejection (four eyes).

use actix_web::HttpResponse;
use serde::Serialize;

use super::call::{Units, WriteCall};
use super::codes::FieldCode;
use super::problem::ApiError;
use super::write::Reply;
use crate::db::DbConnection;
use crate::db::projects::Project;
use crate::domain::AccountName;
use crate::domain::access::Action;
use crate::http::reply::in_project;
use crate::ops::funds::Decision;

/// Validates a free-text field.
pub fn text(
    field: &str,
    text: &str,
    max: usize,
    errors: &mut Vec<super::problem::FieldError>,
) -> String {
    let text = text.trim().to_owned();
    if text.is_empty() || text.chars().count() > max {
        errors.push(super::problem::FieldError::new(
            field,
            FieldCode::TooLong,
            format!("1 to {max} characters"),
        ));
    }
    text
}

/// Longest name used as an account-name segment, in bytes.
pub const SEGMENT_LENGTH_MAX: usize = 100;

/// Validates a name used as an account-name segment (a category, a method).
pub fn segment(field: &str, text: &str, errors: &mut Vec<super::problem::FieldError>) -> String {
    let text = text.trim().to_owned();
    if AccountName::parse(&text).is_err() || text.contains(':') || text.len() > SEGMENT_LENGTH_MAX {
        errors.push(super::problem::FieldError::new(
            field,
            FieldCode::InvalidAccountName,
            "letters, digits, '.', '_' and '-', starting with a letter or digit",
        ));
    }
    text
}

/// The expense category a request names (an expense's, a claim's),
/// trimmed, of at most [`SEGMENT_LENGTH_MAX`] characters; whether the
/// project has it is the use case's to say (`unknown_category`).
pub fn category(text: &str, errors: &mut Vec<super::problem::FieldError>) -> String {
    let category = text.trim().to_owned();
    super::limits::check_length("category", &category, SEGMENT_LENGTH_MAX, errors);
    category
}

/// Longest reason for a rejection, in characters.
pub const REJECTION_REASON_LENGTH_MAX: usize = 1_000;

/// A rejection of money waiting for a second person (four eyes).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "not the amount we agreed"}))]
pub struct RejectionRequest {
    /// Why it is refused (1 to 1000 characters).
    #[schema(example = "not the amount we agreed", max_length = 1000)]
    pub reason: String,
}

/// The decision a rejection asks for: its reason is required and bounded.
pub fn rejection(body: &RejectionRequest) -> Result<crate::ops::funds::Decision, ApiError> {
    let reason = rejection_reason(&body.reason, REJECTION_REASON_LENGTH_MAX)?;
    Ok(crate::ops::funds::Decision::Reject { reason })
}

/// A rejection's reason, trimmed: required (422 `required` alone when it
/// is blank) and at most `max` characters.
pub fn rejection_reason(reason: &str, max: usize) -> Result<String, ApiError> {
    let mut errors = Vec::new();
    let reason = text("reason", reason, max, &mut errors);
    if reason.is_empty() {
        errors = vec![super::problem::FieldError::new(
            "reason",
            FieldCode::Required,
            "a rejection says why",
        )];
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(reason)
}

/// A write of the money endpoints made by the signed-in caller as
/// `action`, in the write pipeline, answered 201 with the record: `write`
/// takes the caller's id, records or decides, and returns where the record
/// is (or is listed) and the record as it is now. A decision on a record
/// held for a second person (four eyes: an expense, a payout, a release or
/// a claim), as each of their approval and rejection handlers makes it, is
/// such a write by an owner or treasurer (`Action::Review`).
pub async fn created_by<T: Serialize>(
    call: WriteCall,
    action: Action,
    write: impl FnOnce(&mut DbConnection, &Project, &str) -> Result<(String, T), ApiError>
    + Clone
    + Send
    + 'static,
) -> Result<HttpResponse, ApiError> {
    call.run(action, move |conn, caller, project| {
        let by = caller.signed_in()?.id.clone();
        let (location, record) = write(conn, project, &by)?;
        Reply::created(location, &record)
    })
    .await
}

/// The use case that records a new record of the money endpoints: the
/// project, the recorder's id and the request checked field by field.
pub type RecordNew<N, R> =
    fn(&mut DbConnection, &Project, &str, &N) -> Result<R, crate::ops::Error>;

/// Records `new` with `record` through the write pipeline
/// (`Action::WriteLedger`), by the signed-in caller, for a kind that has no
/// `GET` of its own (an expense, a payout): answered 201 with the record as
/// `respond` makes it, located at the list that holds it, `list`.
pub async fn record_listed<N, R: 'static, T>(
    call: WriteCall,
    new: N,
    (list, record): (&'static str, RecordNew<N, R>),
    respond: fn(&Units, R) -> T,
) -> Result<HttpResponse, ApiError>
where
    N: Clone + Send + 'static,
    T: Serialize + 'static,
{
    created_by(call, Action::WriteLedger, move |conn, project, recorder| {
        let row = record(conn, project, recorder, &new)?;
        let location = in_project(&project.id, format_args!("{list}"));
        Ok((location, respond(&super::stored_units(conn)?, row)))
    })
    .await
}

/// The use case that decides on a record held for a second person: the
/// project, the decider's id, the record's id and the decision.
pub type DecideRecord<R> =
    fn(&mut DbConnection, &Project, &str, &str, &Decision) -> Result<R, crate::ops::Error>;

/// A decision ([`created_by`]) on the record `id` of a kind that has no
/// `GET` of its own (an expense, a payout): `record` makes the decision, the
/// record is answered as `respond` makes it, and its location is the list
/// that holds it, `list`.
pub async fn decide_listed<R: 'static, T: Serialize + 'static>(
    call: WriteCall,
    (id, decision): (String, Decision),
    (list, record): (&'static str, DecideRecord<R>),
    respond: fn(&Units, R) -> T,
) -> Result<HttpResponse, ApiError> {
    created_by(call, Action::Review, move |conn, project, by| {
        let row = record(conn, project, by, &id, &decision)?;
        let location = in_project(&project.id, format_args!("{list}"));
        Ok((location, respond(&super::stored_units(conn)?, row)))
    })
    .await
}
