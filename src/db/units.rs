//! The units recorded so far (currencies and quantities), with the scale
//! each was first used with.

use std::collections::HashMap;

use diesel::prelude::*;

use super::schema::units;
use super::{Database, DbConnection};
use crate::domain::{Unit, UnitKind};

/// Units by code.
pub type Units = HashMap<String, Unit>;

impl Database {
    /// The stored units, holding every one of `codes` that is stored, without
    /// a statement when the cache holds them all. Stored units never change
    /// (the database refuses it), so a cached unit is right on every
    /// instance; a code the cache lacks may have been stored since (by this
    /// process or another instance), so a miss reads the units in `conn`'s
    /// transaction, as a request without the cache would, and answers with
    /// those. The cache itself is refilled only from committed data (a free
    /// connection of the pool, outside the transaction), so a unit a
    /// transaction stores and then rolls back is never cached.
    pub fn units_covering<'c>(
        &self,
        conn: &mut DbConnection,
        codes: impl IntoIterator<Item = &'c str>,
    ) -> QueryResult<std::sync::Arc<Units>> {
        let cached = self
            .units
            .read()
            .map(|units| units.clone())
            .unwrap_or_default();
        let missing: Vec<&str> = codes
            .into_iter()
            .filter(|code| !cached.contains_key(*code))
            .collect();
        if missing.is_empty() {
            return Ok(cached);
        }
        let seen = std::sync::Arc::new(stored(conn)?);
        // Refilled only when the miss found a unit the cache lacked (a code
        // no one stored, such as a currency no account uses, costs no second
        // read); a cache not refilled (no connection free now) only costs
        // the next request the same read.
        if missing.iter().any(|code| seen.contains_key(*code))
            && let Some(mut other) = self.pool.try_get()
            && let Ok(committed) = stored(&mut other)
            && let Ok(mut units) = self.units.write()
        {
            *units = std::sync::Arc::new(committed);
        }
        Ok(seen)
    }
}

/// Every unit recorded so far, by code (a small table).
pub fn stored(conn: &mut DbConnection) -> QueryResult<HashMap<String, Unit>> {
    let rows: Vec<(String, i32, String)> = units::table
        .select((units::code, units::scale, units::kind))
        .load(conn)?;
    rows.into_iter()
        .map(|row| Ok((row.0.clone(), unit_of(row)?)))
        .collect()
}

/// A stored unit row as a unit; a scale or kind the service never writes is
/// an error (a logged 500), never a default.
pub fn unit_of((code, scale, kind): (String, i32, String)) -> QueryResult<Unit> {
    let unreadable =
        |what: String| diesel::result::Error::DeserializationError(format!("unit {what}").into());
    let scale = u32::try_from(scale).map_err(|_| unreadable(format!("{code}: scale {scale}")))?;
    let kind =
        UnitKind::parse(&kind).ok_or_else(|| unreadable(format!("{code}: kind `{kind}`")))?;
    Ok(Unit::from_stored(code, scale, kind))
}

#[cfg(test)]
mod tests {
    use diesel::Connection;

    use super::*;
    use crate::db::DatabaseUrl;

    /// Two instances of the service on one database file.
    fn two_instances() -> (tempfile::TempDir, Database, Database) {
        let dir = tempfile::tempdir().expect("dir");
        let url = DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .expect("url");
        let first = Database::connect(&url, 2).expect("connect");
        first.migrate().expect("migrate");
        let second = Database::connect(&url, 2).expect("connect");
        (dir, first, second)
    }

    fn store(db: &Database, code: &str, scale: u32) {
        let unit = Unit::from_stored(code.to_owned(), scale, UnitKind::Currency);
        let mut conn = db.connection().expect("connection");
        crate::db::projects::ensure_unit(&mut conn, &unit).expect("stored");
    }

    fn scale_of(units: &Units, code: &str) -> Option<u32> {
        units.get(code).map(Unit::scale)
    }

    #[test]
    fn a_unit_stored_by_another_instance_is_read_on_a_miss_then_cached() {
        let (_dir, first, second) = two_instances();
        let mut conn = first.connection().expect("connection");
        let statements = first.statements();
        let before = statements.get();
        let none = first.units_covering(&mut conn, ["EUR"]).expect("units");
        assert_eq!(scale_of(&none, "EUR"), None, "nothing stored yet");
        assert_eq!(
            statements.get(),
            before + 1,
            "a code no one stored is read once, with nothing to refill"
        );

        // Another instance stores EUR with a scale no currency table of this
        // build gives it (as an older release might have): the first
        // instance must answer with the stored scale, not guess one.
        store(&second, "EUR", 3);
        let read = first.units_covering(&mut conn, ["EUR"]).expect("units");
        assert_eq!(scale_of(&read, "EUR"), Some(3), "a miss reads the table");

        let before = statements.get();
        let cached = first.units_covering(&mut conn, ["EUR"]).expect("units");
        assert_eq!(scale_of(&cached, "EUR"), Some(3));
        assert_eq!(statements.get(), before, "a hit runs no statement");
    }

    #[test]
    fn a_unit_stored_by_a_transaction_rolled_back_is_not_cached() {
        let (_dir, first, _second) = two_instances();
        let mut conn = first.connection().expect("connection");
        let rolled_back: QueryResult<()> = conn.transaction(|conn| {
            let unit = Unit::from_stored("JPY".to_owned(), 0, UnitKind::Currency);
            crate::db::projects::ensure_unit(conn, &unit)?;
            let seen = first.units_covering(conn, ["JPY"])?;
            assert_eq!(
                scale_of(&seen, "JPY"),
                Some(0),
                "its own transaction sees it"
            );
            Err(diesel::result::Error::RollbackTransaction)
        });
        assert!(rolled_back.is_err());
        let statements = first.statements();
        let before = statements.get();
        let cached = first.units_covering(&mut conn, []).expect("units");
        assert_eq!(statements.get(), before, "answered from the cache");
        assert_eq!(
            scale_of(&cached, "JPY"),
            None,
            "only committed units are cached"
        );
    }
}
