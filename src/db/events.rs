//! The audit trail's storage: each project's append-only, hash-chained log
//! of events (see `domain::audit` and the `events` migration).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::events;
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

/// The project's head ([`head`]) and the ids of its ledger transactions
/// posted after the sequence `posted_after`, in order: one statement, a
/// row per such transaction (or one row naming none) that all carry the
/// head.
fn head_and_posted(
    conn: &mut DbConnection,
    project_id: &str,
    posted_after: i64,
) -> QueryResult<((i64, String), Vec<String>)> {
    use diesel::sql_types::{BigInt, Nullable, Text};
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Nullable<BigInt>)]
        last_sequence: Option<i64>,
        #[diesel(sql_type = Nullable<Text>)]
        last_hash: Option<String>,
        #[diesel(sql_type = Nullable<Text>)]
        posted: Option<String>,
    }
    // Placeholders in the order they appear: SQLite numbers `$N` so.
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT h.sequence AS last_sequence, h.hash AS last_hash, t.id AS posted \
         FROM (SELECT 1 AS one) o \
         LEFT JOIN (SELECT sequence, hash FROM events WHERE project_id = $1 \
                    ORDER BY sequence DESC LIMIT 1) h ON 1 = 1 \
         LEFT JOIN transactions t ON t.project_id = $2 AND t.sequence > $3 \
         ORDER BY t.sequence",
    )
    .bind::<Text, _>(project_id)
    .bind::<Text, _>(project_id)
    .bind::<BigInt, _>(posted_after)
    .load(conn)?;
    let head = match rows.first() {
        Some(Row {
            last_sequence: Some(sequence),
            last_hash: Some(hash),
            ..
        }) => (*sequence, hash.clone()),
        _ => (0, GENESIS_HASH.to_owned()),
    };
    Ok((
        head,
        rows.into_iter().filter_map(|row| row.posted).collect(),
    ))
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
    let ((last_sequence, last_hash), posted) = head_and_posted(conn, project_id, posted_after)?;
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
