//! The audit trail's storage: each project's append-only, hash-chained log
//! of events (see `domain::audit` and the `events` migration).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{events, transactions};
use crate::domain::hash::{GENESIS_HASH, HashedEvent};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub project_id: String,
    pub sequence: i64,
    pub id: String,
    pub kind: String,
    pub actor_id: String,
    pub request_id: String,
    pub recorded_at: NaiveDateTime,
    pub subject: String,
    pub state_before: Option<String>,
    pub state_after: Option<String>,
    pub transactions: String,
    pub previous_hash: String,
    pub hash: String,
}

/// What a request changed, as its event records it.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub kind: String,
    pub actor_id: String,
    pub request_id: String,
    pub subject: String,
    /// The state replaced or removed, as JSON text.
    pub before: Option<String>,
    /// The state made, as JSON text.
    pub after: Option<String>,
}

/// The hash that chains `row` to the event before it, over the exact text
/// stored: the same function hashes an event as it is appended and as
/// verification reads it back.
pub fn chain_hash(row: &EventRow) -> String {
    let recorded_at = super::format_timestamp(row.recorded_at);
    HashedEvent {
        project_id: &row.project_id,
        sequence: row.sequence,
        id: &row.id,
        kind: &row.kind,
        actor_id: &row.actor_id,
        request_id: &row.request_id,
        recorded_at: &recorded_at,
        subject: &row.subject,
        before: row.state_before.as_deref(),
        after: row.state_after.as_deref(),
        transactions: &row.transactions,
        previous_hash: &row.previous_hash,
    }
    .hash()
}

/// The project's last event's sequence and hash (`0` and the genesis hash
/// before the first).
pub fn head(conn: &mut DbConnection, project_id: &str) -> QueryResult<(i64, String)> {
    Ok(events::table
        .filter(events::project_id.eq(project_id))
        .order(events::sequence.desc())
        .select((events::sequence, events::hash))
        .first::<(i64, String)>(conn)
        .optional()?
        .unwrap_or_else(|| (0, GENESIS_HASH.to_owned())))
}

/// Appends `event` to the project's log, naming the ledger transactions
/// posted after the ledger's sequence `posted_after` (those of the request
/// the event records). The caller holds the project's write lock (the
/// write pipeline's, and on PostgreSQL the project's row lock), so the
/// chain has one head.
pub fn append(
    conn: &mut DbConnection,
    project_id: &str,
    posted_after: i64,
    event: NewEvent,
) -> QueryResult<EventRow> {
    let (last_sequence, last_hash) = head(conn, project_id)?;
    let posted: Vec<String> = transactions::table
        .filter(transactions::project_id.eq(project_id))
        .filter(transactions::sequence.gt(posted_after))
        .order(transactions::sequence)
        .select(transactions::id)
        .load(conn)?;
    let transactions = serde_json::to_string(&posted)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    let row = EventRow {
        project_id: project_id.to_owned(),
        sequence: last_sequence + 1,
        id: uuid::Uuid::now_v7().to_string(),
        kind: event.kind,
        actor_id: event.actor_id,
        request_id: event.request_id,
        recorded_at: super::now(),
        subject: event.subject,
        state_before: event.before,
        state_after: event.after,
        transactions,
        previous_hash: last_hash,
        hash: String::new(),
    };
    let row = EventRow {
        hash: chain_hash(&row),
        ..row
    };
    diesel::insert_into(events::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

/// Which events a list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// A kind, or a prefix of kinds ending at a `.` (`contribution` is
    /// `contribution.created`, `contribution.review.created`, ...).
    pub kind: Option<String>,
    pub actor: Option<String>,
    /// Recorded at or after.
    pub from: Option<NaiveDateTime>,
    /// Recorded before.
    pub until: Option<NaiveDateTime>,
}

/// A page of the project's events matching `filter`, in log order, after
/// the sequence `after`.
pub fn list(
    conn: &mut DbConnection,
    project_id: &str,
    filter: &Filter,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    let mut query = events::table
        .filter(events::project_id.eq(project_id))
        .filter(events::sequence.gt(after))
        .into_boxed();
    if let Some(kind) = &filter.kind {
        let prefix = format!("{}.%", super::escape_like(kind));
        query = query.filter(
            events::kind
                .eq(kind.clone())
                .or(events::kind.like(prefix).escape('\\')),
        );
    }
    if let Some(actor) = &filter.actor {
        query = query.filter(events::actor_id.eq(actor.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(events::recorded_at.ge(from));
    }
    if let Some(until) = filter.until {
        query = query.filter(events::recorded_at.lt(until));
    }
    query
        .order(events::sequence)
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)
}

/// Events of the project in log order after the sequence `after`, a page
/// at a time (for verification and exports).
pub fn page(
    conn: &mut DbConnection,
    project_id: &str,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    list(conn, project_id, &Filter::default(), after, limit)
}
