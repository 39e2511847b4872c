//! Idempotency keys: a key is claimed before the work starts, and the
//! response is stored in the same database transaction as the work's effect.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};

use super::DbConnection;
use super::schema::idempotency_keys;

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller owns the key now and must complete or release it.
    Acquired { token: String },
    /// The key's request already completed: replay this response.
    Replay {
        status: u16,
        body: String,
        location: Option<String>,
    },
    /// Another request with this key is still being processed.
    InFlight,
    /// The key was used with a different request.
    Mismatch,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
struct KeyRow {
    request_hash: String,
    claim_token: String,
    locked_at: NaiveDateTime,
    response_status: Option<i32>,
    response_body: Option<String>,
    response_location: Option<String>,
}

/// The claim token a claiming insert returns (none when the key was taken).
#[derive(Debug, QueryableByName)]
struct Inserted {
    #[diesel(sql_type = Text)]
    claim_token: String,
}

/// Claims `key` for a request with fingerprint `request_hash`. A claim whose
/// holder has not finished within `lease` (it crashed, say) can be taken over;
/// the old holder then fails to complete it and its work is rolled back.
pub fn claim(
    conn: &mut DbConnection,
    scope: &str,
    key: &str,
    request_hash: &str,
    lease: Duration,
) -> QueryResult<Claim> {
    let token = uuid::Uuid::now_v7().to_string();
    let now = super::now();
    // A fresh key is claimed in one statement: the row comes back only if
    // this insert made it. A key already there is read in a second.
    let inserted: Vec<Inserted> = diesel::sql_query(
        "INSERT INTO idempotency_keys (scope, key, request_hash, claim_token, locked_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (scope, key) DO NOTHING \
         RETURNING claim_token",
    )
    .bind::<Text, _>(scope)
    .bind::<Text, _>(key)
    .bind::<Text, _>(request_hash)
    .bind::<Text, _>(&token)
    .bind::<Timestamp, _>(now)
    .bind::<Timestamp, _>(now)
    .load(conn)?;
    if inserted.iter().any(|row| row.claim_token == token) {
        return Ok(Claim::Acquired { token });
    }
    let row: KeyRow = idempotency_keys::table
        .find((scope, key))
        .select(KeyRow::as_select())
        .first(conn)?;
    if row.request_hash != request_hash {
        return Ok(Claim::Mismatch);
    }
    if row.claim_token == token {
        return Ok(Claim::Acquired { token });
    }
    if let (Some(status), Some(body)) = (row.response_status, row.response_body) {
        return Ok(Claim::Replay {
            status: u16::try_from(status).unwrap_or(500),
            body,
            location: row.response_location,
        });
    }
    let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
    if row.locked_at + lease < now {
        let taken = diesel::update(idempotency_keys::table.find((scope, key)))
            .filter(idempotency_keys::claim_token.eq(&row.claim_token))
            .filter(idempotency_keys::response_status.is_null())
            .set((
                idempotency_keys::claim_token.eq(&token),
                idempotency_keys::locked_at.eq(now),
            ))
            .execute(conn)?;
        if taken == 1 {
            return Ok(Claim::Acquired { token });
        }
    }
    Ok(Claim::InFlight)
}

/// Stores the response of the claimed request. Returns false when the claim
/// was lost (taken over after its lease ran out): the caller must roll back.
pub fn complete(
    conn: &mut DbConnection,
    scope: &str,
    key: &str,
    token: &str,
    status: u16,
    body: &str,
    location: Option<&str>,
) -> QueryResult<bool> {
    let updated = diesel::update(idempotency_keys::table.find((scope, key)))
        .filter(idempotency_keys::claim_token.eq(token))
        .filter(idempotency_keys::response_status.is_null())
        .set((
            idempotency_keys::response_status.eq(Some(i32::from(status))),
            idempotency_keys::response_body.eq(Some(body)),
            idempotency_keys::response_location.eq(location),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Gives a claim back after a failure that must not be replayed (a fault,
/// not a refusal), so that a retry with the same key can run.
/// Whether `key` already holds a stored answer in `scope` (for whichever
/// request): then a claim will replay it or refuse the key's reuse, and
/// there is no need to compute anything first.
pub fn answered(conn: &mut DbConnection, scope: &str, key: &str) -> QueryResult<bool> {
    let status: Option<Option<i32>> = idempotency_keys::table
        .find((scope, key))
        .select(idempotency_keys::response_status)
        .first(conn)
        .optional()?;
    Ok(matches!(status, Some(Some(_))))
}

pub fn release(conn: &mut DbConnection, scope: &str, key: &str, token: &str) -> QueryResult<()> {
    diesel::delete(idempotency_keys::table.find((scope, key)))
        .filter(idempotency_keys::claim_token.eq(token))
        .filter(idempotency_keys::response_status.is_null())
        .execute(conn)?;
    Ok(())
}
