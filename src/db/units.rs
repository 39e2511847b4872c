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
    Ok(rows
        .into_iter()
        .map(|(code, scale, kind)| {
            let unit = Unit::from_stored(
                code.clone(),
                u32::try_from(scale).unwrap_or(0),
                UnitKind::parse(&kind).unwrap_or(UnitKind::Currency),
            );
            (code, unit)
        })
        .collect())
}
