//! Agents (people and organisations) and the rules for their credentials.

/// Shortest password accepted. Long passphrases beat complexity rules.
pub const PASSWORD_LENGTH_MIN: usize = 12;
/// Longest password accepted, so hashing cost stays bounded.
pub const PASSWORD_LENGTH_MAX: usize = 1_024;
/// Longest agent name, in characters.
pub const AGENT_NAME_LENGTH_MAX: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentKind {
    Person,
    Organisation,
}

impl AgentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentKind::Person => "person",
            AgentKind::Organisation => "organisation",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "person" => Some(AgentKind::Person),
            "organisation" => Some(AgentKind::Organisation),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("`{0}` is not an email address")]
    Email(String),
    #[error("a password has {PASSWORD_LENGTH_MIN} to {PASSWORD_LENGTH_MAX} characters")]
    PasswordLength,
}

/// An email address, lower-cased so that uniqueness ignores case. Only the
/// shape is checked (one `@`, no spaces, a dot in the domain); whether it
/// reaches anyone is not this service's concern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(text: &str) -> Result<Self, CredentialError> {
        let trimmed = text.trim();
        let valid = trimmed.len() <= 254
            && !trimmed.chars().any(|c| c.is_whitespace() || c.is_control())
            && matches!(trimmed.split_once('@'), Some((local, domain))
                if !local.is_empty() && !domain.contains('@') && domain.contains('.')
                    && !domain.starts_with('.') && !domain.ends_with('.'));
        if valid {
            Ok(Email(trimmed.to_lowercase()))
        } else {
            Err(CredentialError::Email(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets the length policy. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(text: &str) -> Result<Self, CredentialError> {
        let length = text.chars().count();
        if (PASSWORD_LENGTH_MIN..=PASSWORD_LENGTH_MAX).contains(&length) {
            Ok(Password(text.to_owned()))
        } else {
            Err(CredentialError::PasswordLength)
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Ada@Example.ORG ").map(|e| e.as_str().to_owned()),
            Ok("ada@example.org".to_owned())
        );
        for bad in [
            "",
            "ada",
            "@example.org",
            "ada@",
            "ada@example",
            "a b@example.org",
            "a@b@example.org",
            "ada@.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_follow_the_length_policy_and_never_print() {
        assert!(Password::parse("short").is_err());
        let password = Password::parse("correct horse battery staple").expect("long enough");
        assert!(!format!("{password:?}").contains("horse"));
    }
}
