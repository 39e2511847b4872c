//! Account names: colon-separated paths such as `pool:grant:FH-2026-017`.

use std::fmt;

/// Longest account name accepted, in bytes.
pub const ACCOUNT_NAME_LENGTH_MAX: usize = 200;
/// Deepest account hierarchy accepted (number of colon-separated segments).
pub const ACCOUNT_NAME_SEGMENTS_MAX: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountNameError {
    #[error("an account name is 1 to {ACCOUNT_NAME_LENGTH_MAX} characters, got {0}")]
    Length(usize),
    #[error("an account name has at most {ACCOUNT_NAME_SEGMENTS_MAX} colon-separated segments")]
    TooDeep,
    #[error(
        "segment `{0}` must start with a letter or digit and contain only letters, digits, '.', '_' and '-'"
    )]
    Segment(String),
}

/// A valid account name. Segments start with an ASCII letter or digit and
/// contain ASCII letters, digits, `.`, `_` and `-`; they are separated by `:`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountName(String);

impl AccountName {
    pub fn parse(text: &str) -> Result<Self, AccountNameError> {
        if text.is_empty() || text.len() > ACCOUNT_NAME_LENGTH_MAX {
            return Err(AccountNameError::Length(text.chars().count()));
        }
        let segments: Vec<&str> = text.split(':').collect();
        if segments.len() > ACCOUNT_NAME_SEGMENTS_MAX {
            return Err(AccountNameError::TooDeep);
        }
        for segment in segments {
            let mut bytes = segment.bytes();
            let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric());
            let rest_ok =
                bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
            if !first_ok || !rest_ok {
                return Err(AccountNameError::Segment(segment.to_owned()));
            }
        }
        Ok(AccountName(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_table() {
        for good in [
            "pool:general",
            "pool:grant:FH-2026-017",
            "reserve",
            "contributor:0190a1b2-c3d4",
            "a.b_c-d",
        ] {
            assert!(AccountName::parse(good).is_ok(), "{good} is a valid name");
        }
        for bad in [
            "",
            ":",
            "pool:",
            ":pool",
            "pool::general",
            "pool general",
            "pool/general",
            "-pool",
            "é",
            "a:b:c:d:e:f:g:h:i",
        ] {
            assert!(AccountName::parse(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(AccountName::parse(&"a".repeat(ACCOUNT_NAME_LENGTH_MAX + 1)).is_err());
    }
}
