//! Length limits that several resources share, and the checks that enforce
//! a stated maximum with a field error (422 `too_long`) or, for a query
//! parameter, a 400. Every text field of every request has a maximum,
//! stated as `maxLength` in the OpenAPI document; the test
//! `every_request_text_states_its_maximum` (tests/api/openapi.rs) walks the
//! document to keep it so.

use super::codes::FieldCode;
use super::problem::{ApiError, FieldError};

/// Length of an id: a UUID in its hyphenated form. A longer text names
/// nothing, and is refused before it is looked up.
pub const ID_LENGTH_MAX: usize = 36;

/// Longest unit code written in a request: ISO 4217 codes have three
/// letters and the declared units (`HOUR`) four; anything longer is no unit
/// and is refused as `unknown_currency`.
pub const UNIT_CODE_LENGTH_MAX: usize = 8;

/// Longest email written in a request (RFC 5321's limit on a path).
pub const EMAIL_LENGTH_MAX: usize = 254;

/// Longest skill or equipment name of a rate or a contribution, in characters.
pub const SCOPE_LENGTH_MAX: usize = 100;

/// Most expense categories a project may define.
pub const CATEGORIES_PER_PROJECT_MAX: usize = 200;

/// The field error for a text longer than `max` characters.
pub fn too_long(field: impl Into<String>, max: usize) -> FieldError {
    FieldError::new(
        field,
        FieldCode::TooLong,
        format!("at most {max} characters"),
    )
}

/// Records a `too_long` problem for `text` if it has more than `max`
/// characters; true when it fits.
pub fn check_length(field: &str, text: &str, max: usize, errors: &mut Vec<FieldError>) -> bool {
    // Bytes bound characters from above: count only when it may matter.
    let fits = text.len() <= max || text.chars().count() <= max;
    if !fits {
        errors.push(too_long(field, max));
    }
    fits
}

/// Refuses an id longer than [`ID_LENGTH_MAX`] (422 `too_long`).
pub fn check_id(field: &str, id: &str) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if check_length(field, id, ID_LENGTH_MAX, &mut errors) {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// [`check_id`] of an id a request may leave out: an absent one passes.
pub fn check_optional_id(field: &str, id: Option<&str>) -> Result<(), ApiError> {
    id.map_or(Ok(()), |id| check_id(field, id))
}

/// Refuses a query parameter longer than `max` characters (400 `invalid_query`).
pub fn check_query(name: &str, value: Option<&str>, max: usize) -> Result<(), ApiError> {
    match value {
        Some(text) if text.len() > max && text.chars().count() > max => Err(
            ApiError::InvalidQuery(format!("`{name}` is at most {max} characters")),
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_counted_in_characters() {
        let cases = [
            ("", 0, true),
            ("abc", 3, true),
            ("abcd", 3, false),
            ("ééé", 3, true),
            ("éééé", 3, false),
        ];
        for (text, max, fits) in cases {
            let mut errors = Vec::new();
            assert_eq!(
                check_length("f", text, max, &mut errors),
                fits,
                "{text:?} within {max}"
            );
            assert_eq!(errors.len(), usize::from(!fits));
        }
        assert!(check_id("agent", &"a".repeat(ID_LENGTH_MAX)).is_ok());
        assert!(check_id("agent", &"a".repeat(ID_LENGTH_MAX + 1)).is_err());
        assert!(check_query("account", Some(&"a".repeat(201)), 200).is_err());
        assert!(check_query("account", None, 200).is_ok());
    }
}
