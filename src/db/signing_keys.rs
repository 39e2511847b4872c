//! The instance's signing key, when it is kept in the database: one row,
//! inserted once and never changed.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::signing_keys;

/// The one row's id (the table holds no other).
const INSTANCE_KEY_ID: i32 = 1;

/// The stored key, PKCS#8 PEM, if one was stored.
pub fn find(conn: &mut DbConnection) -> QueryResult<Option<String>> {
    signing_keys::table
        .filter(signing_keys::id.eq(INSTANCE_KEY_ID))
        .select(signing_keys::private_key_pem)
        .first(conn)
        .optional()
}

/// Stores `private_key_pem` as the instance's key. When another instance
/// stored one first this is a unique violation: read that one instead.
pub fn insert(
    conn: &mut DbConnection,
    private_key_pem: &str,
    created_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(signing_keys::table)
        .values((
            signing_keys::id.eq(INSTANCE_KEY_ID),
            signing_keys::private_key_pem.eq(private_key_pem),
            signing_keys::created_at.eq(created_at),
        ))
        .execute(conn)
        .map(drop)
}
