//! What the money endpoints (grants, expenses, payouts, exchanges) share:
//! the accounts the service manages and posting one ordinary ledger
//! transaction for each movement.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::problem::ApiError;
use crate::db::accounts::AccountRow;
use crate::db::projects::ProjectRow;
use crate::db::transactions::TransactionRecord;
use crate::db::{self, DbConnection};
use crate::domain::{
    AccountName, Amount, NewPosting, NewTransaction, TransactionKind, Unit, UnitKind,
};

/// A managed account's name (see [`crate::domain::managed`]); a name the
/// service cannot make from its own segments is its fault, not the caller's.
pub fn managed(
    name: Result<AccountName, crate::domain::AccountNameError>,
) -> Result<AccountName, ApiError> {
    name.map_err(|e| ApiError::Internal(format!("managed account name: {e}")))
}

/// The general pool for `currency`: `pool:general` in the project's
/// currency, `pool:general:<code>` in any other, so no account mixes units.
pub fn general_pool(project: &ProjectRow, currency: &str) -> Result<AccountName, ApiError> {
    managed(crate::domain::managed::general_pool(
        &project.currency,
        currency,
    ))
}

/// Opens (once) a managed account.
pub fn ensure(
    conn: &mut DbConnection,
    project: &ProjectRow,
    name: &AccountName,
    currency: &str,
    non_negative: bool,
) -> Result<AccountRow, ApiError> {
    Ok(db::accounts::ensure(
        conn,
        &project.id,
        name,
        currency,
        non_negative,
    )?)
}

/// One movement of a transaction.
pub struct Leg {
    pub from: AccountName,
    pub to: AccountName,
    pub amount: Amount,
    pub currency: String,
}

/// Posts one ledger transaction of `kind` with the ledger's rules: atomic,
/// balanced, non-negative accounts checked under their locks.
pub fn post(
    conn: &mut DbConnection,
    project: &ProjectRow,
    kind: TransactionKind,
    date: NaiveDate,
    description: String,
    metadata: serde_json::Value,
    legs: Vec<Leg>,
) -> Result<TransactionRecord, ApiError> {
    let transaction = NewTransaction {
        kind,
        effective_date: date,
        description,
        metadata: metadata.to_string(),
        postings: legs
            .into_iter()
            .map(|leg| NewPosting {
                from: leg.from,
                to: leg.to,
                amount: leg.amount,
                unit: leg.currency,
            })
            .collect(),
    };
    Ok(db::transactions::post(
        conn,
        &project.id,
        &transaction,
        None,
    )?)
}

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
            "too_long",
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
            "invalid_account_name",
            "letters, digits, '.', '_' and '-', starting with a letter or digit",
        ));
    }
    text
}

/// Parses an amount of money in a currency (not a declared unit), with the
/// currency's scale as stored if used before, naming the fields that are
/// wrong (`<prefix>.amount`, `<prefix>.currency`).
pub fn money(
    units: &HashMap<String, Unit>,
    prefix: &str,
    amount: &str,
    currency: &str,
    errors: &mut Vec<super::problem::FieldError>,
) -> Option<(Unit, Amount)> {
    let field = |name: &str| {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        }
    };
    let Some(unit) = super::resolve_unit(units, currency)
        .ok()
        .filter(|u| u.kind() == UnitKind::Currency)
    else {
        errors.push(super::problem::FieldError::new(
            field("currency"),
            "unknown_currency",
            format!("`{currency}` is not a currency"),
        ));
        return None;
    };
    match Amount::parse(amount, &unit) {
        Ok(parsed) => Some((unit, parsed)),
        Err(error) => {
            errors.push(super::problem::FieldError::new(
                field("amount"),
                error.code(),
                &error,
            ));
            None
        }
    }
}
