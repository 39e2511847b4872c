//! What the money endpoints (grants, expenses, payouts, exchanges) share
//! when they check a request: free text and account-name segments.

use super::codes::FieldCode;
use crate::domain::AccountName;

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
