//! `/v1/projects/{project_id}/events`: the project's audit trail, every
//! change of state with who made it, when, in which request, and what it
//! replaced and made (see `http::audit`).

use actix_web::{get, web};
use commons_ledger_macros::operation;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::call::ProjectPage;
use super::dto::{PageQuery, page_type};
use super::extract::{decode_number_cursor, query_date};
use super::problem::{ApiError, Problem};
use crate::db::events::{EventRow, Filter};
use crate::db::projects::Project;
use crate::db::{self, DbConnection};
use crate::domain::access::Action;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_events);
}

/// Longest `kind` filter, in characters.
const KIND_FILTER_MAX: usize = 200;

/// A list of events' filter (besides its page, [`PageQuery`]).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Only events of this kind, or of the kinds it begins up to a `.`
    /// (`contribution` is `contribution.created`,
    /// `contribution.review.created`, ...): lower-case letters, `_` and `.`.
    #[param(max_length = 200, pattern = "^[a-z_]+(\\.[a-z_]+)*$")]
    pub kind: Option<String>,
    /// Only events of this actor (an agent id).
    #[param(format = Uuid, max_length = 36)]
    pub actor: Option<String>,
    /// Recorded on or after this day (UTC, `YYYY-MM-DD`).
    #[param(format = Date, max_length = 10)]
    pub from: Option<String>,
    /// Recorded on or before this day (UTC, `YYYY-MM-DD`).
    #[param(format = Date, max_length = 10)]
    pub to: Option<String>,
}

/// One change of state, as the audit trail keeps it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// Its place in the project's log, from 1.
    pub sequence: i64,
    #[schema(format = Uuid)]
    pub id: String,
    /// The operation, named from the request's route:
    /// `contribution.created`, `contribution.review.created`,
    /// `project.updated`, `member.deleted`, ...
    pub kind: String,
    /// The signed-in agent who made the change.
    #[schema(format = Uuid)]
    pub actor: String,
    /// The request's id (its `X-Request-Id`).
    pub request_id: String,
    #[schema(format = DateTime)]
    pub recorded_at: String,
    /// The request's path.
    pub subject: String,
    /// The state replaced or removed (a project's settings before a
    /// change, a membership before its role changed), or null when the
    /// change replaced nothing.
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The state made: the write's answer, as it was sent; null for a removal.
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    /// The ledger transactions the request posted, by id, in ledger order.
    pub transactions: Vec<String>,
    /// The previous event's hash (64 zeros before the first).
    pub previous_hash: String,
    /// SHA-256 of the event's canonical encoding (docs/security.md).
    pub hash: String,
}

page_type!(EventPage, Event);

/// `row` as the API shows it.
pub fn to_event(row: EventRow) -> Result<Event, ApiError> {
    let json = |text: &str| {
        serde_json::from_str(text).map_err(|e| ApiError::internal_from("a stored event", e))
    };
    Ok(Event {
        sequence: row.sequence,
        before: row.state_before.as_deref().map(json).transpose()?,
        after: row.state_after.as_deref().map(json).transpose()?,
        transactions: serde_json::from_str(&row.transactions)
            .map_err(|e| ApiError::internal_from("a stored event", e))?,
        recorded_at: db::format_timestamp(row.recorded_at),
        id: row.id,
        kind: row.kind,
        actor: row.actor_id,
        request_id: row.request_id,
        subject: row.subject,
        previous_hash: row.previous_hash,
        hash: row.hash,
    })
}

/// The filters of `query`, checked.
fn filter(query: &EventQuery) -> Result<Filter, ApiError> {
    if let Some(kind) = &query.kind {
        let plain = kind.len() <= KIND_FILTER_MAX
            && kind.split('.').all(|part| {
                !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            });
        if !plain {
            return Err(ApiError::InvalidQuery(
                "`kind` is lower-case letters and `_`, in parts separated by `.`".to_owned(),
            ));
        }
    }
    if let Some(actor) = &query.actor
        && uuid::Uuid::try_parse(actor).is_err()
    {
        return Err(ApiError::InvalidQuery(
            "`actor` is an agent id (a UUID)".to_owned(),
        ));
    }
    let from = query_date("from", query.from.as_deref())?;
    let to = query_date("to", query.to.as_deref())?;
    Ok(Filter {
        kind: query.kind.clone(),
        actor: query.actor.as_ref().map(|a| a.to_lowercase()),
        from: from.and_then(|day| day.and_hms_opt(0, 0, 0)),
        until: to
            .and_then(|day| day.succ_opt())
            .and_then(|day| day.and_hms_opt(0, 0, 0)),
    })
}

/// List the audit trail
///
/// The project's events in the order they were recorded (owners, treasurers and
/// auditors): every change of state, with its actor, its request, and what it
/// replaced and made. The log is hash-chained; the ledger's verification checks
/// it. Filter by `kind` (exact or dotted prefix), `actor`, `from` and `to`.
#[operation(get "/projects/{project_id}/events", tag = "ledger", signed_in, params(PageQuery, EventQuery),
    responses(
        200 EventPage "A page of events",
        400 "`invalid_query` (a filter or `limit`) or `invalid_cursor`",
        403 "`forbidden`: contributors",
    ))]
pub async fn list_events(
    page: ProjectPage,
    query: web::Query<EventQuery>,
) -> Result<web::Json<EventPage>, ApiError> {
    let filter = filter(&query)?;
    let page = page.check(decode_number_cursor::<i64>)?;
    let fetch = move |conn: &mut DbConnection, project: &Project, after: Option<i64>, limit| {
        let rows = db::events::list(conn, &project.id, &filter, after.unwrap_or(0), limit)?;
        rows.into_iter().map(to_event).collect()
    };
    let page = page
        .read(Action::ReadEvents, fetch, |e: &Event| {
            e.sequence.to_string()
        })
        .await?;
    Ok(web::Json(page.into()))
}
