//! The units recorded so far (currencies and quantities), with the scale
//! each was first used with.

use std::collections::HashMap;

use diesel::prelude::*;

use super::DbConnection;
use super::schema::units;
use crate::domain::{Unit, UnitKind};

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
